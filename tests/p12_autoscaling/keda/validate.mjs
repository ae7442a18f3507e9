// Reads KEDA objects (JSON, one array) on stdin; prints one line per object: "ok" or the error.
import { readFileSync } from "node:fs";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";

const objects = JSON.parse(readFileSync(0, "utf8"));
let failed = false;
for (const object of objects) {
  try {
    new ScaledObject(object).validate();
    console.log("ok");
  } catch (error) {
    failed = true;
    console.log(`invalid: ${error.message}`);
  }
}
process.exit(failed ? 1 : 0);

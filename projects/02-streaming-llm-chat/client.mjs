// Chat with the streaming API from JavaScript, in a browser or in Node 18+ (no dependency).
//
//     node client.mjs "What is the capital of France?" [--conversation demo] [--url http://127.0.0.1:8000] [--key KEY]
//
// A browser's EventSource cannot be used here: it only sends GET, with no body and no Authorization
// header, and this endpoint is a POST with a JSON body and, when tenants are configured, a Bearer
// key. fetch() can send both and read the response body as a stream; the events are parsed here.

// --8<-- [start:chat]
/** Send one message; call onEvent(event, data) for each Server-Sent Event as it arrives. */
export async function chat({ url, conversation, content, key, maxTokens = 256, signal, onEvent }) {
  const response = await fetch(`${url}/v1/conversations/${encodeURIComponent(conversation)}/messages`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "text/event-stream",
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
    },
    body: JSON.stringify({ content, max_tokens: maxTokens }),
    signal, // abort() closes the connection, and the service stops the generation
  });
  if (!response.ok) {
    const problem = await response.json(); // problem+json: type, status, detail (429: Retry-After)
    throw new Error(`${problem.status} ${problem.type}: ${problem.detail}`);
  }
  let buffer = "";
  for await (const text of response.body.pipeThrough(new TextDecoderStream())) {
    buffer += text.replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) { // a blank line ends an event
      const lines = buffer.slice(0, end).split("\n");
      buffer = buffer.slice(end + 2);
      const field = (name) => lines.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).trimStart());
      const data = field("data").join("\n");
      if (data) onEvent(field("event")[0] ?? "message", JSON.parse(data));
    }
  }
}
// --8<-- [end:chat]

async function main(argv) {
  const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
  const write = (text) => process.stdout.write(text);
  await chat({
    url: option("--url", "http://127.0.0.1:8000"),
    conversation: option("--conversation", "demo"),
    content: argv[0],
    key: option("--key", undefined),
    maxTokens: Number(option("--max-tokens", "256")),
    onEvent(event, data) {
      if (event === "token") write(data.text);
      else if (event === "done") write(`\n[${data.usage.completion_tokens} tokens, first after ${Math.round(data.timings.ttft_ms)} ms]\n`);
      else if (event === "error") throw new Error(`${data.type}: ${data.detail}`);
    },
  });
}

if (typeof process !== "undefined" && import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}

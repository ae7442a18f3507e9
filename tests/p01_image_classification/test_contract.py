"""Black-box HTTP contract: runs against the local stack, or a deployed one with --base-url."""

from __future__ import annotations

import http.client
import time

import httpx

CAT_CLASSES = {281, 282, 283, 284, 285, 287}  # tabby, tiger cat, Persian, Siamese, Egyptian cat, lynx
COFFEE_CLASSES = {967, 968, 504, 969}  # espresso, cup, coffee mug, eggnog


def classify(client, image: bytes, top_k: int = 5, name: str = "photo.jpg"):
    return client.post("/v1/classify", params={"top_k": top_k}, files={"image": (name, image, "image/jpeg")})


def test_cat_photo_gets_a_cat_class_in_the_top_5(client, cat_jpeg):
    response = classify(client, cat_jpeg)
    assert response.status_code == 200
    body = response.json()
    assert {p["class_id"] for p in body["predictions"]} & CAT_CLASSES
    assert body["predictions"][0]["class_id"] in CAT_CLASSES
    assert "cat" in body["predictions"][0]["label"]


def test_coffee_photo_gets_an_espresso_or_cup_class(client, coffee_jpeg):
    body = classify(client, coffee_jpeg).json()
    assert {p["class_id"] for p in body["predictions"]} & COFFEE_CLASSES


def test_answer_carries_model_scores_and_timings(client, cat_jpeg):
    body = classify(client, cat_jpeg, top_k=3).json()
    assert body["model"] == {"name": "efficientnet_lite0", "version": "1"}
    scores = [p["score"] for p in body["predictions"]]
    assert len(scores) == 3
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    timings = body["timings"]
    assert timings["inference_ms"] > 0
    assert timings["total_ms"] >= timings["inference_ms"]


def test_top_k_bounds_are_inclusive(client, cat_jpeg):
    assert len(classify(client, cat_jpeg, top_k=1).json()["predictions"]) == 1
    assert len(classify(client, cat_jpeg, top_k=100).json()["predictions"]) == 100


def test_png_upload_is_classified_like_jpeg(client):
    import io

    import skimage.data
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(skimage.data.chelsea()).save(buffer, "PNG")
    response = client.post("/v1/classify", files={"image": ("cat.png", buffer.getvalue(), "image/png")})
    assert response.status_code == 200
    assert response.json()["predictions"][0]["class_id"] in CAT_CLASSES


def test_batch_returns_one_result_per_image_in_order(client, cat_jpeg, coffee_jpeg):
    files = [
        ("images", ("cat.jpg", cat_jpeg, "image/jpeg")),
        ("images", ("coffee.jpg", coffee_jpeg, "image/jpeg")),
        ("images", ("cat2.jpg", cat_jpeg, "image/jpeg")),
    ]
    response = client.post("/v1/classify/batch", params={"top_k": 5}, files=files)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["filename"] for r in results] == ["cat.jpg", "coffee.jpg", "cat2.jpg"]
    assert {p["class_id"] for p in results[0]["predictions"]} & CAT_CLASSES
    assert {p["class_id"] for p in results[1]["predictions"]} & COFFEE_CLASSES
    assert results[0]["predictions"] == results[2]["predictions"]


def test_batch_scores_match_single_image_scores(client, cat_jpeg, coffee_jpeg):
    single = classify(client, coffee_jpeg).json()["predictions"]
    batch = client.post(
        "/v1/classify/batch",
        files=[("images", ("cat.jpg", cat_jpeg, "image/jpeg")), ("images", ("coffee.jpg", coffee_jpeg, "image/jpeg"))],
    ).json()["results"][1]["predictions"]
    assert [p["class_id"] for p in batch] == [p["class_id"] for p in single]
    for a, b in zip(batch, single, strict=False):
        assert abs(a["score"] - b["score"]) < 1e-5


def test_health_endpoints(client):
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


def test_metrics_expose_latency_by_route_and_status_and_model_metrics(client, cat_jpeg):
    classify(client, cat_jpeg)
    text = client.get("/metrics").text
    assert 'http_request_duration_seconds_bucket{handler="/v1/classify",le="0.01",method="POST",status="200"}' in text
    assert 'image_classification_inference_duration_seconds_count{model="efficientnet_lite0"}' in text
    assert 'image_classification_top1_confidence_bucket{le="0.5",model="efficientnet_lite0"}' in text


def test_openapi_documents_both_routes_with_examples(client):
    spec = client.get("/openapi.json").json()
    assert {"/v1/classify", "/v1/classify/batch", "/health/ready"} <= set(spec["paths"])
    example = spec["components"]["schemas"]["ClassifyResponse"]["examples"][0]
    assert example["predictions"][0]["label"] == "Egyptian cat"
    assert "413" in spec["paths"]["/v1/classify"]["post"]["responses"]


def test_request_id_is_echoed(client, cat_jpeg):
    response = client.get("/health/live", headers={"X-Request-ID": "0123456789abcdef0123456789abcdef"})
    assert response.headers["X-Request-ID"] == "0123456789abcdef0123456789abcdef"


def test_an_idle_connection_outlives_a_client_pools_expiry(stack):
    """Idle keep-alive connections stay open longer than httpx's pool keeps them (5 s): with
    uvicorn's default of 5 s, a request sent just as the server closes the connection is lost."""
    url = httpx.URL(stack.url)
    connection = http.client.HTTPConnection(url.host, url.port, timeout=30)
    try:
        connection.request("GET", "/health/live")
        connection.getresponse().read()
        socket = connection.sock
        time.sleep(6)
        connection.request("GET", "/health/live")  # the server closed it by now under uvicorn's default
        assert connection.getresponse().status == 200 and connection.sock is socket
    finally:
        connection.close()

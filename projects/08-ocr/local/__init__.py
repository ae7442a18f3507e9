"""Project 08's local recipe: Triton on CPU serving the three PP-OCR models, a trace store, the API,
Prometheus with the SLO rules and Alertmanager (stack.py); the evaluation set and Tesseract
(evaluation.py); the fault drill (drill.py); its benchmark (bench.py)."""

TITLE = "Monitored OCR: SLOs, burn-rate alerts, traces and logs around PP-OCR on Triton"
TEACHES = "SLOs and error budgets, multi-window burn-rate alerts, a fault drill, trace-to-log correlation"
TRY_IT = "curl -F file=@page.png {url}/v1/ocr   # any photo or scan of text, or a PDF (?page=N)"

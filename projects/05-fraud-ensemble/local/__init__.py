"""Project 05's local recipe: the card-fraud data, the three models trained once per machine, Triton
(CPU twins, the vote, the ensemble, a slowed copy of one voter for the fault tests) and the API
(stack.py); its benchmark (bench.py)."""

TITLE = "Fraud ensemble: three models, one vote"
TEACHES = "parallel inference on Triton, weighted voting, fan-out with deadlines, designed degradation"
# transaction.json: a fraudulent payment of the held-out period (a row of the ULB dataset, unlabelled)
TRY_IT = "curl -H 'Content-Type: application/json' -d @projects/05-fraud-ensemble/transaction.json {url}/v1/score"

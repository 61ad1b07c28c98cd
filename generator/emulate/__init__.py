"""`tokengate emulate`: the spec's gateway on a laptop, enforcing its token limits for real.

One module per concern:

    gate.py      the policy as a request meets it: key check, budget, counter key, the decision
                 (made by `simulate`'s engine.Counters, the same code `simulate` replays with)
    policy.py    what the rendered policy declares: header names per token-limit element
    tokens.py    the documented, deterministic token count and the mock model's answers
    backend.py   where allowed requests go: the mock model, or a real endpoint with a credential
    metrics.py   token metrics by the spec's dimensions: Prometheus text and customMetrics rows
    keys.py      one subscription key per consumer, generated or kept in a 0600 JSON file
    server.py    the HTTP layer (aiohttp, the optional extra `emulate`)
"""

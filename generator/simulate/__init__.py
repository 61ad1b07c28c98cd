"""`tokengate simulate`: replay traffic through the token limits a spec generates, offline.

A simulation is a short pipeline, one module per step:

    traces.py / synthetic.py   a workload (workload.py: the requests, as columns;
                               columnar_csv.py: the fast path for plain CSV traces)
    plan.py                    the Gateway model → token-limit budgets, counter keys, dimensions
                               (evaluate.py runs the policy expressions per request)
    engine.py                  the replay, following the rules written down in semantics.py
    simulation.py              plan + workload + assumptions → one result
    report.py, chart.py        what the user reads; suggest.py: the limits to pick

Everything about the gateway comes from the `Gateway` model `render` uses, never from the YAML.
"""

"""`tokengate smoke`: the lab's two test steps against a running gateway, Azure or the emulator.

    target.py       where to send requests and with which key (deployment outputs and
                    `az rest` listSecrets, or --url with --key / --keys)
    http.py         one JSON request over the standard library (no extra needed on Azure)
    policy_test.py  "Test out the policy": requests until 429 (and 403), then the verdict
    monitoring.py   "Test monitoring": wait for the requests' token metrics, by dimension
    run.py          the command end to end, and what it prints

Exit codes: 0 the gateway agrees with the spec, 1 it does not (ExitCode.CHANGED), 3 the gateway
cannot be reached or refuses the key (ExitCode.DEPLOY_FAILED).
"""

"""Deployment: the only package in tokengate that runs `az` or `azd`.

Every child process goes through `runner.run`, with an argument list built in `commands` (never a
shell, so spec values cannot become shell syntax). The modules, in the order a deployment uses
them:

- `target`      where to deploy: scope, resource group, the stable deployment name
- `layout`      which files to write: render's output, the subscription-scope entry, the azd project
- `preflight`   checks before anything runs, each failure a one-line reason and a hint
- `whatif`      the what-if result as a change summary
- `watch`       one long step under `progress` (status line or plain lines), Ctrl-C and timeout
- `arm_errors`  az/azd failures turned into ARM error codes, messages and hints
- `outputs`     what a user needs afterwards: URLs, names and the next command to try
- `redact`      secrets in az/azd/ARM text replaced before the user sees it
- `az_json`     words for JSON of an unexpected shape, for messages
- `az_flow`, `azd_flow`, `teardown`   `deploy`, `up` and `down`, step by step, writing to a
  `console.Console`
"""

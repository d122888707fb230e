#!/usr/bin/env bash
# Runs the quickstart on the local platform through the whole plugin
# architecture: install the plugin, submit, follow the logs, print the result.
set -euo pipefail
cd "$(dirname "$0")/.."

host=bin/neural-host
"$host" plugins install bin/neural-plugin-local
"$host" platforms
echo
ref=$("$host" job submit examples/quickstart/neural-job.yaml --platform local --yes -o json |
  sed -n 's/^  "ref": "\(.*\)",$/\1/p')
echo "Submitted $ref; following its logs:"
"$host" job logs --follow "$ref"
echo
"$host" job wait "$ref" >/dev/null
"$host" job result "$ref"

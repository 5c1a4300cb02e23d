#!/usr/bin/env bash
# Deploys the current commit to the environment named by $1.
set -euo pipefail
kubectl -n "$1" set image deployment/orders-api orders-api="ghcr.io/ada-example/orders-api:${GITHUB_SHA:?}"
kubectl -n "$1" rollout status deployment/orders-api --timeout=120s

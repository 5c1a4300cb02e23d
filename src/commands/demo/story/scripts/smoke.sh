#!/usr/bin/env bash
# Smoke suite: runs against the staging deployment before promotion to production.
# Every check fails the script (and so the gate) on a bad HTTP status.
set -euo pipefail
BASE_URL="${BASE_URL:?set BASE_URL to the deployment under test}"

check_version() {
  # The deployment runs the commit being promoted.
  curl --fail --silent --show-error "$BASE_URL/version" | grep -q "${GIT_SHA:?}"
}

check_orders() {
  # A real read through the database: the seed order exists.
  curl --fail --silent --show-error "$BASE_URL/api/orders/seed-1" | grep -q '"customer"'
}

check_home() {
  # The landing page answers with the service's name.
  curl --fail --silent --show-error "$BASE_URL/" | grep -q '"orders-api"'
}

check_version
check_orders
check_home
echo "smoke: all checks passed"

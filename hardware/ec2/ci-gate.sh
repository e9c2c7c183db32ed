#!/usr/bin/env bash
# Gate of the hardware-e2e workflow: decides whether an EC2 runner may be started.
# Reads the PRESENCE (never the value) of the credentials and settings from the environment and
# writes to $GITHUB_OUTPUT (stdout when unset):
#   enabled=true|false   false when anything is missing (then a ::notice:: names every piece)
#   auth=role|keys|none  which AWS authentication to use (OIDC role preferred)
# Always exits 0: a fork PR or a repository without AWS set up is skipped, not failed.
#
# Inputs (env): AWS_ROLE_ARN, or AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY; GH_RUNNER_TOKEN
# (PAT that may register self-hosted runners); HW_SUBNET_ID; HW_SECURITY_GROUP_ID.
set -euo pipefail

missing=()

if [ -n "${AWS_ROLE_ARN:-}" ]; then
  auth=role
elif [ -n "${AWS_ACCESS_KEY_ID:-}" ] && [ -n "${AWS_SECRET_ACCESS_KEY:-}" ]; then
  auth=keys
else
  auth=none
  missing+=("secret AWS_ROLE_ARN (or secrets AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY)")
fi
[ -n "${GH_RUNNER_TOKEN:-}" ] || missing+=("secret GH_RUNNER_TOKEN")
[ -n "${HW_SUBNET_ID:-}" ] || missing+=("variable HW_SUBNET_ID")
[ -n "${HW_SECURITY_GROUP_ID:-}" ] || missing+=("variable HW_SECURITY_GROUP_ID")

if [ ${#missing[@]} -eq 0 ]; then
  enabled=true
  echo "hardware-e2e: credentials present (auth=${auth}); an EC2 runner will be started"
else
  enabled=false
  joined="$(printf '%s, ' "${missing[@]}")"
  echo "::notice title=hardware-e2e skipped::missing ${joined%, } (see docs/hardware.md#ci); no EC2 instance was started"
fi
result="$(printf 'enabled=%s\nauth=%s' "${enabled}" "${auth}")"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "${result}" >>"${GITHUB_OUTPUT}"
else
  echo "${result}"
fi

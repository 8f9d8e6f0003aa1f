#!/usr/bin/env bash
# Starts the enclave from an EIF.
#   nitro/run-enclave.sh EIF [--cpus N] [--memory MIB] [--cid CID] [--debug]
# --debug attaches a console but makes every PCR read as zeros, so KMS keys
# bound to PCR0 will refuse the enclave: use it only to read start-up errors.
set -euo pipefail

usage() { echo "usage: $0 EIF [--cpus N] [--memory MIB] [--cid CID] [--debug]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
eif="$1"; shift
cpus=2
memory=2048
cid=16
debug=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cpus) cpus="${2:?}"; shift 2 ;;
    --memory) memory="${2:?}"; shift 2 ;;
    --cid) cid="${2:?}"; shift 2 ;;
    --debug) debug=1; shift ;;
    *) usage ;;
  esac
done
[[ -f "${eif}" ]] || { echo "no such EIF: ${eif}" >&2; exit 2; }

args=(--eif-path "${eif}" --cpu-count "${cpus}" --memory "${memory}" --enclave-cid "${cid}")
if [[ "${debug}" -eq 1 ]]; then
  echo "WARNING: debug mode zeroes the PCRs in attestation documents; KMS will refuse this enclave and clients must not trust it." >&2
  args+=(--debug-mode)
fi

if ! nitro-cli run-enclave "${args[@]}"; then
  echo "nitro-cli run-enclave failed; the enclave error log follows:" >&2
  latest="$(find /var/log/nitro_enclaves -name 'err*.log' -type f -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2-)"
  [[ -n "${latest}" ]] && cat "${latest}" >&2
  exit 1
fi
nitro-cli describe-enclaves

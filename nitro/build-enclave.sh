#!/usr/bin/env bash
# Builds the enclave image and its EIF, and records the measurements.
#   nitro/build-enclave.sh KMS_KEY_ARN GUARD_TABLE_ARN [--fips]
# Output: build/enclave-wallet-<PCR0 prefix>.eif and build/measurements-<PCR0 prefix>.json
set -euo pipefail

cd "$(dirname "$0")/.."
[[ $# -ge 2 ]] || { echo "usage: $0 KMS_KEY_ARN GUARD_TABLE_ARN [--fips]" >&2; exit 2; }
kms_key="$1"
guard_table="$2"
fips=0
[[ "${3:-}" == "--fips" ]] && fips=1
tag="enclave-wallet-enclave:$(git rev-parse --short=12 HEAD)"
mkdir -p build

# SOURCE_DATE_EPOCH keeps image metadata stable across builds of the same commit.
SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)"
export SOURCE_DATE_EPOCH

docker build --file enclave.Dockerfile --build-arg "KMS_KEY_ID=${kms_key}" --build-arg "GUARD_TABLE_ARN=${guard_table}" --build-arg "AWS_FIPS=${fips}" --tag "${tag}" .

tmp_eif="build/enclave-wallet.eif.tmp"
nitro-cli build-enclave --docker-uri "${tag}" --output-file "${tmp_eif}" > build/measurements.tmp.json

pcr0="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Measurements"]["PCR0"])' build/measurements.tmp.json)"
name="enclave-wallet-${pcr0:0:16}"
mv "${tmp_eif}" "build/${name}.eif"
mv build/measurements.tmp.json "build/measurements-${pcr0:0:16}.json"

echo "EIF:          build/${name}.eif"
echo "measurements: build/measurements-${pcr0:0:16}.json"
echo "PCR0:         ${pcr0}"
echo "Next: npx enclave-wallet kms-policy --measurements build/measurements-${pcr0:0:16}.json --guard-table-arn ${guard_table}"

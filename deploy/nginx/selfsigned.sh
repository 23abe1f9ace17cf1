#!/usr/bin/env bash
# A self-signed certificate for localhost, for compose.yaml's nginx (try-out only:
# in production use one from your CA or Let's Encrypt).
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tls"
mkdir -p "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$dir/key.pem" -out "$dir/cert.pem"

#!/bin/sh
# A throw-away CA with a server certificate for `temporal` and a client certificate for Disburse, in
# deploy/tls/certs (for trying docker-compose.tls.yml; use your own PKI in production).
set -eu
dir="$(dirname "$0")/certs"
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:3072 -nodes -days 365 -subj /CN=disburse-dev-ca -keyout ca-key.pem -out ca.pem
for who in server client; do
  cn=$([ "$who" = server ] && echo temporal || echo disburse)
  openssl req -newkey rsa:3072 -nodes -subj "/CN=$cn" -keyout "$who-key.pem" -out "$who.csr"
  printf 'subjectAltName=DNS:%s\nextendedKeyUsage=%s\n' "$cn" \
    "$([ "$who" = server ] && echo serverAuth,clientAuth || echo clientAuth)" >"$who.ext"
  openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 365 \
    -extfile "$who.ext" -out "$who.pem"
  rm -f "$who.csr" "$who.ext"
done
# The containers run as unprivileged users: keys readable by them, the directory by you only.
chmod 644 ./*.pem
echo "certificates in $dir"

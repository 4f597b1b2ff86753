#!/usr/bin/env bash
# Chunk decryption throughput (one core) against `openssl speed -decrypt -evp aes-256-gcm`, same run, same sizes.
# sealgate = DEKCipher.open (one AES-GCM context per document DEK, as the gateway runs it); cold = Envelope.open
# (a fresh AES-GCM setup per value, what the first value of each document costs).
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release --package-path . --product SealBench >/dev/null
secs=${1:-3}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
sealgate=$(taskset -c 0 .build/release/SealBench "$secs")
echo "$sealgate"
sealgate=$(echo "$sealgate" | sed '/^sha256_size_bytes/,$d')
echo "size_bytes,sealgate_MBps,sealgate_cold_MBps,swift_crypto_oneshot_MBps,openssl_MBps,ratio,openssl_aead_MBps,ratio_aead,cold_ratio_aead"
echo "$sealgate" | grep -E '^[0-9]+,' | while IFS=, read -r size mbps _ cold raw; do
  # openssl speed prints e.g. "AES-256-GCM  ...  1234567.89k" (thousands of bytes per second).
  k=$(taskset -c 0 openssl speed -decrypt -evp aes-256-gcm -seconds "$secs" -bytes "$size" 2>/dev/null | awk '/^AES-256-GCM/ {print $NF}' | tr -d k)
  ossl=$(python3 -c "print(f'{float(\"$k\")/1000:.1f}')")
  ratio=$(python3 -c "print(f'{$mbps/$ossl:.2f}')")
  # -aead: a fresh IV, AAD and tag check per operation, as a real chunk decryption does.
  ka=$(taskset -c 0 openssl speed -decrypt -aead -evp aes-256-gcm -seconds "$secs" -bytes "$size" 2>/dev/null | awk '/^AES-256-GCM/ {print $NF}' | tr -d k)
  ossla=$(python3 -c "print(f'{float(\"$ka\")/1000:.1f}')")
  ratioa=$(python3 -c "print(f'{$mbps/$ossla:.2f}')")
  coldr=$(python3 -c "print(f'{$cold/$ossla:.2f}')")
  echo "$size,$mbps,$cold,$raw,$ossl,$ratio,$ossla,$ratioa,$coldr"
done

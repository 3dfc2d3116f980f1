#!/usr/bin/env bash
# Installs the Debian tools the test suite drives (SIPp, baresip, espeak-ng, sox, pocketsphinx,
# tshark/tcpdump, nftables, iproute2) when any is missing. Needs root; CI runs as root.
set -euo pipefail
need=()
# The tests also replay the RFC 4733 and G.711 pcaps Debian's sip-tester ships in /usr/share/sip-tester.
{ command -v sipp >/dev/null && [ -f /usr/share/sip-tester/dtmf_2833_1.pcap ]; } || need+=(sip-tester)
command -v baresip >/dev/null || need+=(baresip baresip-core)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox libsox-fmt-all)
command -v pocketsphinx_continuous >/dev/null || need+=(pocketsphinx pocketsphinx-en-us)
command -v tshark >/dev/null || need+=(tshark)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v nft >/dev/null || need+=(nftables)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "missing test tools: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
echo "installing test tools: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

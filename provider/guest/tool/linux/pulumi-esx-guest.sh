#!/bin/sh
# pulumi-esx-guest: applies the network configuration that pulumi-esx put in the VM's `machine.id`
# (records "mac;ip;netmask;gateway;broadcast;dns1,dns2#...", or the 4-field "mac;ip;netmask;gateway").
#
# Dependency-free: POSIX sh, iproute2, coreutils, grep/sed/awk. Runs at boot (pulumi-esx-guest.service).
#  - reads machine.id with vmware-rpctool, else vmtoolsd --cmd, else vmware-guestd --cmd; nothing set -> exit 0
#  - matches each record to an interface by MAC (`ip -o link`), whether or not it has an address
#  - applies address/prefix, default route (metric 100 + record index) and DNS now: with iproute2, or on the
#    live root of an ifupdown system with ifup (an address ifupdown did not add makes networking.service fail)
#  - persists in the guest's own stack: netplan, NetworkManager keyfile, ifupdown or systemd-networkd
#  - idempotent (compares before writing or applying); touches only interfaces named in machine.id
#  - a malformed record is logged and skipped: its interface is left as it was (exit status 3)
#
# Stack detection (first match; only files under the root are looked at, so it works before any daemon runs):
#   netplan         netplan is installed and /etc/netplan holds a *.yaml
#   networkmanager  NetworkManager is installed and runs (/run/NetworkManager) or is enabled for boot
#   ifupdown        ifup is installed, /etc/network/interfaces exists, and networking.service is enabled or
#                   systemd-networkd is not
#   networkd        otherwise
# "installed" means the program is in /usr/sbin, /usr/bin, /sbin or /bin; "enabled" means a link to the unit
# in a /etc/systemd/system/*.wants directory (what `systemctl enable` makes).
# DNS servers always go into the stack's configuration. When /etc/resolv.conf is a file (or missing), the tool
# also writes it (keeping its search/domain/options lines); when it links into systemd-resolved's directory,
# a running resolved also gets them now (`resolvectl dns`, live root only); a link elsewhere (resolvconf,
# NetworkManager) is left to its owner.
#
# Environment (for tests and special cases):
#   PULUMI_ESX_GUEST_ROOT   root for every file path, detection included (default /). Under another root the
#                           live interfaces are still configured with iproute2, but no program of the guest's
#                           stack is run (netplan, ifup/ifdown, nmcli, networkctl, resolvectl)
#   PULUMI_ESX_GUEST_STACK  netplan | networkmanager | ifupdown | networkd (default: detected)
#   PULUMI_ESX_GUEST_DNS    resolved | stack | resolvconf (default: detected, see dns_mode)
#   PULUMI_ESX_GUEST_WAIT   seconds to wait for interfaces named in machine.id to appear (default 0)
# Exit status: 0 ok (or nothing set), 1 tool error, 3 some records skipped (malformed or no such interface).

set -u
set -f
umask 022

TAG=pulumi-esx-guest
ROOT=${PULUMI_ESX_GUEST_ROOT:-/}
ROOT=${ROOT%/}
LIVE=0
[ -z "$ROOT" ] && LIVE=1
WAIT=${PULUMI_ESX_GUEST_WAIT:-0}
CHANGES=0
SKIPPED=0
HEX='[0-9a-fA-F][0-9a-fA-F]'
NL='
'

log() {
  printf '%s: %s\n' "$TAG" "$*" >&2
  # Under systemd stderr already goes to the journal; otherwise also send it to syslog/journal.
  if [ -z "${JOURNAL_STREAM:-}" ] && command -v logger >/dev/null 2>&1; then
    logger -t "$TAG" -- "$*" </dev/null >/dev/null 2>&1 || true
  fi
}

changed() {
  CHANGES=$((CHANGES + 1))
  log "$*"
}

valid_ipv4() {
  case $1 in '' | *[!0-9.]* | .* | *. | *..*) return 1 ;; esac
  _vi_ifs=$IFS
  IFS=.
  # shellcheck disable=SC2086
  set -- $1
  IFS=$_vi_ifs
  [ $# -eq 4 ] || return 1
  for _o in "$@"; do
    case $_o in 0 | [1-9] | [1-9][0-9] | 1[0-9][0-9] | 2[0-4][0-9] | 25[0-5]) ;; *) return 1 ;; esac
  done
  return 0
}

valid_mac() {
  # shellcheck disable=SC2254
  case $1 in $HEX:$HEX:$HEX:$HEX:$HEX:$HEX) return 0 ;; *) return 1 ;; esac
}

# Prints the prefix length of a contiguous netmask, or fails.
mask_prefix() {
  valid_ipv4 "$1" || return 1
  _mp_ifs=$IFS
  IFS=.
  # shellcheck disable=SC2086
  set -- $1
  IFS=$_mp_ifs
  _p=0
  _zero=0
  for _o in "$@"; do
    case $_o in
      255) _b=8 ;; 254) _b=7 ;; 252) _b=6 ;; 248) _b=5 ;; 240) _b=4 ;; 224) _b=3 ;; 192) _b=2 ;; 128) _b=1 ;; 0) _b=0 ;;
      *) return 1 ;;
    esac
    if [ "$_zero" = 1 ] && [ "$_b" != 0 ]; then return 1; fi
    [ "$_b" != 8 ] && _zero=1
    _p=$((_p + _b))
  done
  echo "$_p"
}

read_machine_id() {
  if command -v vmware-rpctool >/dev/null 2>&1; then
    if _out=$(vmware-rpctool "machine.id.get" 2>/dev/null </dev/null); then printf '%s' "$_out"; return 0; fi
  fi
  for _t in vmtoolsd vmware-guestd; do
    if command -v "$_t" >/dev/null 2>&1; then
      if _out=$("$_t" --cmd "machine.id.get" 2>/dev/null </dev/null); then printf '%s' "$_out"; return 0; fi
    fi
  done
  return 1
}

# Parses one record into R_MAC R_IP R_PREFIX R_GW R_DNS (space-separated); sets R_ERR on failure.
parse_record() {
  R_ERR=
  _rec=$1
  _n=$(printf '%s' "$_rec" | tr -cd ';' | wc -c | tr -d ' ')
  if [ "$_n" != 5 ] && [ "$_n" != 3 ]; then R_ERR="expected 6 fields (or 4 of the first release), got $((_n + 1))"; return 1; fi
  _pr_ifs=$IFS
  IFS=';'
  # shellcheck disable=SC2086
  set -- $_rec
  IFS=$_pr_ifs
  R_MAC=$(printf '%s' "${1:-}" | tr -d ' \t' | tr 'A-F' 'a-f')
  R_IP=$(printf '%s' "${2:-}" | tr -d ' \t')
  _mask=$(printf '%s' "${3:-}" | tr -d ' \t')
  R_GW=$(printf '%s' "${4:-}" | tr -d ' \t')
  _bc=$(printf '%s' "${5:-}" | tr -d ' \t')
  _dns=$(printf '%s' "${6:-}" | tr -d ' \t')
  valid_mac "$R_MAC" || { R_ERR="mac \"$R_MAC\" is not a MAC address"; return 1; }
  valid_ipv4 "$R_IP" || { R_ERR="ip \"$R_IP\" is not a dotted-quad IPv4 address"; return 1; }
  R_PREFIX=$(mask_prefix "$_mask") || { R_ERR="netmask \"$_mask\" is not a contiguous netmask"; return 1; }
  if [ -n "$R_GW" ] && ! valid_ipv4 "$R_GW"; then R_ERR="gateway \"$R_GW\" is not a dotted-quad IPv4 address"; return 1; fi
  if [ "$_n" = 5 ] && ! valid_ipv4 "$_bc"; then R_ERR="broadcast \"$_bc\" is not a dotted-quad IPv4 address"; return 1; fi
  R_DNS=
  _pr_ifs=$IFS
  IFS=,
  for _d in $_dns; do
    valid_ipv4 "$_d" || { IFS=$_pr_ifs; R_ERR="dns \"$_d\" is not a dotted-quad IPv4 address"; return 1; }
    R_DNS="${R_DNS:+$R_DNS }$_d"
  done
  IFS=$_pr_ifs
  return 0
}

# Prints the name of the interface with MAC $1 (empty when none).
iface_for_mac() {
  ip -o link show </dev/null 2>/dev/null | awk -v m="$1" '{
    for (i = 1; i < NF; i++) if ($i == "link/ether" && tolower($(i + 1)) == m) {
      n = $2; sub(/:$/, "", n); sub(/@.*/, "", n); print n; exit
    }
  }'
}

# Writes $2 (plus a final newline) to $ROOT$1 with mode $3 unless it already has exactly that content.
write_if_changed() {
  _f=$ROOT$1
  _mode=$3
  if [ -f "$_f" ] && [ "$(cat "$_f")" = "$2" ]; then
    [ "$(stat -c %a "$_f")" = "$_mode" ] || { chmod "$_mode" "$_f"; changed "set mode $_mode on $1"; }
    return 1
  fi
  mkdir -p "$(dirname "$_f")"
  _tmp="$_f.tmp.$$"
  (umask 077 && printf '%s\n' "$2" >"$_tmp") && chmod "$_mode" "$_tmp" && mv -f "$_tmp" "$_f" || {
    rm -f "$_tmp"
    log "error: cannot write $1"
    return 2
  }
  changed "wrote $1"
  return 0
}

# ---- live configuration with iproute2 ----------------------------------------------------------------

apply_live() { # if ip prefix gw metric
  _if=$1 _want="$2/$3" _gw=$4 _metric=$5
  case $(ip -o link show dev "$_if" </dev/null 2>/dev/null) in
    *"<UP"* | *",UP,"* | *",UP>"*) ;;
    *) ip link set dev "$_if" up </dev/null && changed "$_if: link up" ;;
  esac
  _cur=$(ip -o -4 addr show dev "$_if" </dev/null 2>/dev/null | awk '{print $4}')
  if [ "$_cur" != "$_want" ]; then
    for _a in $_cur; do
      [ "$_a" = "$_want" ] && continue
      ip -4 addr del "$_a" dev "$_if" </dev/null && changed "$_if: removed address $_a"
    done
    if ! printf '%s\n' "$_cur" | grep -qx "$_want"; then
      ip -4 addr add "$_want" brd + dev "$_if" </dev/null || { log "error: $_if: cannot add address $_want"; return 1; }
      changed "$_if: added address $_want"
    fi
  fi
  _routes=$(ip -4 -o route show default dev "$_if" </dev/null 2>/dev/null |
    awk '{ v = ""; m = 0; for (i = 1; i < NF; i++) { if ($i == "via") v = $(i + 1); if ($i == "metric") m = $(i + 1) } print v " " m }')
  _wantroute=
  [ -n "$_gw" ] && _wantroute="$_gw $_metric"
  if [ "$_routes" != "$_wantroute" ]; then
    if [ -n "$_routes" ]; then
      ip -4 route flush exact 0.0.0.0/0 dev "$_if" </dev/null && changed "$_if: removed default route(s) $(printf '%s' "$_routes" | tr '\n' ',')"
    fi
    if [ -n "$_gw" ]; then
      ip -4 route append default via "$_gw" dev "$_if" metric "$_metric" proto static </dev/null ||
        { log "error: $_if: cannot add default route via $_gw"; return 1; }
      changed "$_if: default route via $_gw metric $_metric"
    fi
  fi
  return 0
}

# ---- persistence ---------------------------------------------------------------------------------------

# True when one of the paths exists under ROOT (a dangling link counts: its target is the guest's, not ours).
has() {
  for _p in "$@"; do
    if [ -e "$ROOT$_p" ] || [ -L "$ROOT$_p" ]; then return 0; fi
  done
  return 1
}

installed() { has "/usr/sbin/$1" "/usr/bin/$1" "/sbin/$1" "/bin/$1"; }

# True when a file matching the glob $2 exists in directory $1 under ROOT.
has_glob() {
  set +f
  for _g in "$ROOT$1"/$2; do
    if [ -e "$_g" ] || [ -L "$_g" ]; then
      set -f
      return 0
    fi
  done
  set -f
  return 1
}

# A systemd unit is enabled for boot when `systemctl enable` has linked it into a .wants directory.
enabled() { has_glob /etc/systemd/system "*.wants/$1"; }

detect_stack() {
  if [ -n "${PULUMI_ESX_GUEST_STACK:-}" ]; then echo "$PULUMI_ESX_GUEST_STACK"; return; fi
  if installed netplan && has_glob /etc/netplan "*.yaml"; then echo netplan; return; fi
  if installed NetworkManager && { has /run/NetworkManager || enabled NetworkManager.service; }; then
    echo networkmanager
    return
  fi
  if installed ifup && [ -f "$ROOT/etc/network/interfaces" ] &&
    { enabled networking.service || ! enabled systemd-networkd.service; }; then
    echo ifupdown
    return
  fi
  echo networkd
}

stable_uuid() {
  _h=$(printf 'pulumi-esx-guest %s' "$1" | md5sum | cut -c1-32)
  echo "$_h" | sed 's/^\(........\)\(....\)\(....\)\(....\)\(............\)$/\1-\2-\3-\4-\5/'
}

persist_netplan() { # if mac ip prefix gw metric dns
  _c="# Written by $TAG from machine.id; do not edit.
network:
  version: 2
  ethernets:
    $1:
      match:
        macaddress: \"$2\"
      dhcp4: false
      addresses:
        - $3/$4"
  [ -n "$5" ] && _c="$_c
      routes:
        - to: 0.0.0.0/0
          via: $5
          metric: $6"
  [ -n "$7" ] && _c="$_c
      nameservers:
        addresses: [$(echo "$7" | sed 's/ /, /g')]"
  write_if_changed "/etc/netplan/60-pulumi-esx-$1.yaml" "$_c" 600
}

persist_networkmanager() {
  _dnsl=
  [ -n "$7" ] && _dnsl="dns=$(echo "$7" | tr ' ' ';');
ignore-auto-dns=true
"
  _gwl=
  [ -n "$5" ] && _gwl="gateway=$5
route-metric=$6
"
  _c="# Written by $TAG from machine.id; do not edit.
[connection]
id=pulumi-esx-$1
uuid=$(stable_uuid "$2")
type=ethernet
interface-name=$1
autoconnect=true
autoconnect-priority=100

[ethernet]
mac-address=$(echo "$2" | tr 'a-f' 'A-F')

[ipv4]
method=manual
address1=$3/$4
$_gwl${_dnsl}never-default=$([ -n "$5" ] && echo false || echo true)

[ipv6]
method=auto"
  write_if_changed "/etc/NetworkManager/system-connections/pulumi-esx-$1.nmconnection" "$_c" 600
}

# Sets IFU_STANZA (the interfaces.d file) and IFU_MAIN (the new /etc/network/interfaces, when there is one).
plan_ifupdown() { # if mac ip prefix gw metric dns
  IFU_STANZA="# Written by $TAG from machine.id; do not edit.
auto $1
iface $1 inet static
    address $3/$4"
  [ -n "$5" ] && IFU_STANZA="$IFU_STANZA
    gateway $5
    metric $6"
  [ -n "$7" ] && IFU_STANZA="$IFU_STANZA
    dns-nameservers $7"
  # The main file must include interfaces.d and must not define the interface itself.
  IFU_MAIN=
  _main="$ROOT/etc/network/interfaces"
  [ -f "$_main" ] || return 0
  IFU_MAIN=$(awk -v ifn="$1" -v tag="$TAG" '
      /^[ \t]*(auto|allow-[a-z]+)[ \t]/ {
        out = $1; hit = 0
        for (i = 2; i <= NF; i++) if ($i == ifn) hit = 1; else out = out " " $i
        if (hit) { print "#" tag "# " $0; if (out != $1) print out; inblock = 0; next }
      }
      /^[ \t]*(iface|mapping|auto|allow-[a-z]+|source|source-directory|rename)[ \t]/ { inblock = ($1 == "iface" && $2 == ifn) }
      { if (inblock && NF > 0) print "#" tag "# " $0; else print }
    ' "$_main")
  if ! printf '%s\n' "$IFU_MAIN" | grep -Eq '^[[:space:]]*source(-directory)?[[:space:]]+/etc/network/interfaces\.d'; then
    IFU_MAIN="$IFU_MAIN
source /etc/network/interfaces.d/*"
  fi
}

# True when the files of plan_ifupdown differ from those on disk.
ifupdown_differs() { # if
  [ "$(cat "$ROOT/etc/network/interfaces.d/pulumi-esx-$1" 2>/dev/null)" != "$IFU_STANZA" ] ||
    { [ -n "$IFU_MAIN" ] && [ "$(cat "$ROOT/etc/network/interfaces")" != "$IFU_MAIN" ]; }
}

persist_ifupdown() { # if mac ip prefix gw metric dns
  plan_ifupdown "$@"
  write_if_changed "/etc/network/interfaces.d/pulumi-esx-$1" "$IFU_STANZA" 644
  _rc=$?
  _main="$ROOT/etc/network/interfaces"
  if [ -n "$IFU_MAIN" ] && [ "$IFU_MAIN" != "$(cat "$_main")" ]; then
    printf '%s\n' "$IFU_MAIN" >"$_main.tmp.$$" && mv -f "$_main.tmp.$$" "$_main" &&
      changed "updated /etc/network/interfaces (own stanzas for $1 disabled, interfaces.d sourced)"
  fi
  return $_rc
}

# On the live root of an ifupdown system the interface is brought up by ifup, not by iproute2 directly:
# an address ifupdown did not add makes its `ifup -a` (networking.service, after this tool at boot) fail on
# the interface. An interface ifupdown has up under another configuration is taken down (ifdown, with the old
# files) before the files change; one it has up as configured is only checked for drift.
apply_ifupdown() { # if mac ip prefix gw metric dns
  plan_ifupdown "$@"
  _state=$(ifquery --state "$1" </dev/null 2>/dev/null)
  if [ -n "$_state" ] && ifupdown_differs "$1"; then
    if _out=$(ifdown "$1" </dev/null 2>&1); then
      changed "$1: ifdown (its configuration changes)"
    else
      log "warning: ifdown $1 failed: $(printf '%s' "$_out" | tr '\n' ' ')"
    fi
    _state=$(ifquery --state "$1" </dev/null 2>/dev/null)
  fi
  persist_ifupdown "$@"
  [ $? = 2 ] && return 1
  if [ -z "$_state" ]; then
    if _out=$(ifup "$1" </dev/null 2>&1); then
      changed "$1: ifup"
    else
      log "warning: ifup $1 failed, configuring it with iproute2: $(printf '%s' "$_out" | tr '\n' ' ')"
    fi
  fi
  # As ifup configured it this changes nothing; otherwise it repairs drift (or a failed ifup).
  apply_live "$1" "$3" "$4" "$5" "$6"
}

persist_networkd() {
  _c="# Written by $TAG from machine.id; do not edit.
[Match]
MACAddress=$2

[Network]
DHCP=no"
  for _d in $7; do _c="$_c
DNS=$_d"; done
  _c="$_c

[Address]
Address=$3/$4"
  [ -n "$5" ] && _c="$_c

[Route]
Gateway=$5
Metric=$6"
  write_if_changed "/etc/systemd/network/10-pulumi-esx-$1.network" "$_c" 644
}

# Tells a running network daemon about a changed file (only on the real root).
poke_daemon() { # stack if
  [ "$LIVE" = 1 ] || return 0
  case $1 in
    netplan)
      command -v netplan >/dev/null 2>&1 || return 0
      netplan generate </dev/null || log "warning: netplan generate failed"
      if systemctl -q is-active systemd-networkd.service NetworkManager.service </dev/null 2>/dev/null; then
        netplan apply </dev/null || log "warning: netplan apply failed"
      fi
      ;;
    networkmanager)
      if systemctl -q is-active NetworkManager.service </dev/null 2>/dev/null; then
        nmcli connection reload </dev/null && nmcli connection up id "pulumi-esx-$2" </dev/null >/dev/null ||
          log "warning: nmcli could not activate pulumi-esx-$2"
      fi
      ;;
    networkd)
      if systemctl -q is-active systemd-networkd.service </dev/null 2>/dev/null; then
        networkctl reload </dev/null && networkctl reconfigure "$2" </dev/null || log "warning: networkctl reload failed"
      fi
      ;;
  esac
}

# ---- DNS -----------------------------------------------------------------------------------------------

# resolved:   /etc/resolv.conf links into systemd-resolved's directory (also before resolved has started, as at
#             boot): the stack's configuration carries the servers to resolved; on the live root they are
#             also given to a running resolved with resolvectl
# stack:      /etc/resolv.conf links elsewhere (resolvconf, openresolv, NetworkManager): its owner builds it
#             from the stack's configuration, which carries the servers; the link is left alone
# resolvconf: /etc/resolv.conf is a file (or missing): the tool writes it
dns_mode() {
  if [ -n "${PULUMI_ESX_GUEST_DNS:-}" ]; then echo "$PULUMI_ESX_GUEST_DNS"; return; fi
  if [ -L "$ROOT/etc/resolv.conf" ]; then
    case $(readlink "$ROOT/etc/resolv.conf") in
      */systemd/resolve/*) echo resolved ;;
      *) echo stack ;;
    esac
    return
  fi
  echo resolvconf
}

apply_dns_resolved() { # if dns...
  _if=$1
  shift
  [ $# -gt 0 ] || return 0
  [ "$LIVE" = 1 ] && [ -d /run/systemd/resolve ] && command -v resolvectl >/dev/null 2>&1 || return 0
  _cur=$(resolvectl dns "$_if" </dev/null 2>/dev/null | sed 's/^[^:]*:[[:space:]]*//')
  if [ "$_cur" != "$*" ]; then
    resolvectl dns "$_if" "$@" </dev/null || { log "error: resolvectl dns $_if failed"; return 1; }
    changed "$_if: DNS $* (systemd-resolved)"
  fi
}

apply_dns_resolvconf() { # all servers
  [ -n "$1" ] || return 0
  _f="$ROOT/etc/resolv.conf"
  _keep=
  [ -f "$_f" ] && _keep=$(grep -E '^[[:space:]]*(search|domain|options)[[:space:]]' "$_f" || true)
  _c="# Written by $TAG from machine.id"
  for _d in $1; do _c="$_c
nameserver $_d"; done
  [ -n "$_keep" ] && _c="$_c
$_keep"
  write_if_changed /etc/resolv.conf "$_c" 644 || true
}

# ---- main ----------------------------------------------------------------------------------------------

main() {
  if ! MID=$(read_machine_id); then
    exit 0 # no VMware tools, or machine.id not set: nothing to do, quietly
  fi
  MID=$(printf '%s' "$MID" | tr -d '\r\n')
  case $MID in '' | '1' | 'No value found') exit 0 ;; esac

  case $MID in *'#'*) RECS=$(printf '%s' "$MID" | tr '#' '\n') ;; *) RECS=$MID ;; esac

  PARSED=
  idx=0
  while IFS= read -r rec; do
    [ -z "$(printf '%s' "$rec" | tr -d ' \t')" ] && continue
    if parse_record "$rec"; then
      PARSED="$PARSED$idx $R_MAC $R_IP $R_PREFIX ${R_GW:--} ${R_DNS:+$(echo "$R_DNS" | tr ' ' ',')}$NL"
    else
      log "record $idx skipped (its interface is left as it was): $R_ERR: $rec"
      SKIPPED=$((SKIPPED + 1))
    fi
    idx=$((idx + 1))
  done <<EOF
$RECS
EOF

  # Wait (bounded) for every interface named by a valid record to appear.
  waited=0
  while :; do
    missing=0
    while read -r i mac rest; do
      [ -n "$mac" ] && [ -z "$(iface_for_mac "$mac")" ] && missing=1
    done <<EOF
$PARSED
EOF
    [ "$missing" = 0 ] || [ "$waited" -ge "$WAIT" ] && break
    sleep 1
    waited=$((waited + 1))
  done

  STACK=$(detect_stack)
  case $STACK in netplan | networkmanager | ifupdown | networkd) ;; *) log "error: unknown stack \"$STACK\""; exit 1 ;; esac
  DNSMODE=$(dns_mode)
  case $DNSMODE in resolved | stack | resolvconf) ;; *) log "error: unknown DNS mode \"$DNSMODE\""; exit 1 ;; esac
  ALLDNS=
  applied=0
  while read -r i mac ip prefix gw dns; do
    [ -n "${mac:-}" ] || continue
    [ "$gw" = - ] && gw=
    dns=$(echo "${dns:-}" | tr ',' ' ')
    ifn=$(iface_for_mac "$mac")
    if [ -z "$ifn" ]; then
      log "record $i skipped: no interface has MAC $mac"
      SKIPPED=$((SKIPPED + 1))
      continue
    fi
    case $ifn in *[!A-Za-z0-9_.-]*) log "record $i skipped: unexpected interface name \"$ifn\""; SKIPPED=$((SKIPPED + 1)); continue ;; esac
    metric=$((100 + i))
    if [ "$STACK" = ifupdown ] && [ "$LIVE" = 1 ] && command -v ifup >/dev/null 2>&1; then
      apply_ifupdown "$ifn" "$mac" "$ip" "$prefix" "$gw" "$metric" "$dns" || SKIPPED=$((SKIPPED + 1))
    else
      apply_live "$ifn" "$ip" "$prefix" "$gw" "$metric" || SKIPPED=$((SKIPPED + 1))
      "persist_$STACK" "$ifn" "$mac" "$ip" "$prefix" "$gw" "$metric" "$dns"
      [ $? = 0 ] && poke_daemon "$STACK" "$ifn"
    fi
    if [ "$DNSMODE" = resolved ]; then
      # shellcheck disable=SC2086
      apply_dns_resolved "$ifn" $dns
    fi
    for d in $dns; do
      case " $ALLDNS " in *" $d "*) ;; *) ALLDNS="${ALLDNS:+$ALLDNS }$d" ;; esac
    done
    applied=$((applied + 1))
  done <<EOF
$PARSED
EOF
  [ "$DNSMODE" = resolvconf ] && apply_dns_resolvconf "$ALLDNS"

  if [ "$CHANGES" = 0 ]; then
    log "nothing to do: $applied interface(s) already as machine.id says (stack $STACK, dns $DNSMODE)"
  else
    log "done: $applied interface(s) configured, $CHANGES change(s) (stack $STACK, dns $DNSMODE)"
  fi
  [ "$SKIPPED" = 0 ] || exit 3
  exit 0
}

main "$@"

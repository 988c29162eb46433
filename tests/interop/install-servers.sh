#!/usr/bin/env bash
# Installs what the interop suite runs against (needs root; CI runs it from .ci/run):
#  - Debian's vsftpd, from apt, and the OpenSSH client, server and sftp-server;
#  - ProFTPD (proftpd-core + proftpd-mod-crypto for mod_tls) and pure-ftpd, unpacked with
#    `apt-get download` + `dpkg -x` into $FERRYMAN_SERVERS_DIR, because Debian's FTP servers
#    conflict with each other as packages (they all provide ftp-server);
#  - the shared libraries those two need (not conflicting);
#  - a login account `ferrytest` with no shell and a random password kept in
#    /etc/ferryman-test/password (mode 0600), and PAM services that check only the
#    password, so vsftpd and pure-ftpd accept an account that cannot log in to a shell.
set -euo pipefail

DEST=${FERRYMAN_SERVERS_DIR:-/opt/ferryman-servers}
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ]; then
  echo "install-servers.sh: run as root (it installs packages and adds a test account)" >&2
  exit 1
fi

apt-get update -qq
# The OpenSSH packages give the SFTP tests their client and the sshd binary they start
# privately (tests/interop/sshd.py); a temporary policy-rc.d keeps the package from
# starting the system's own sshd on port 22, which the tests never use.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy"
  made_policy=1
  trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -qq --no-install-recommends \
  openssh-server openssh-sftp-server openssh-client \
  vsftpd openssl libpam-modules \
  libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 libsodium23 libwrap0 \
  >/dev/null

if [ -n "$made_policy" ]; then rm -f "$policy"; fi
install -d -m 0755 /run/sshd   # sshd's privilege separation directory
work=$(mktemp -d)
chmod 755 "$work"   # apt's download sandbox user must be able to write here
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq proftpd-core proftpd-mod-crypto pure-ftpd pure-ftpd-common \
   2>&1 | grep -v "^W: Download is performed unsandboxed" || true)
mkdir -p "$DEST"
for deb in "$work"/*.deb; do
  dpkg -x "$deb" "$DEST"
done

for binary in "$DEST/usr/sbin/proftpd" "$DEST/usr/sbin/pure-ftpd" /usr/sbin/vsftpd; do
  missing=$(ldd "$binary" | grep "not found" || true)
  if [ -n "$missing" ]; then
    echo "install-servers.sh: $binary is missing libraries:" >&2
    echo "$missing" >&2
    exit 1
  fi
done
test -f "$DEST/usr/lib/proftpd/mod_tls.so" || { echo "no mod_tls.so in $DEST" >&2; exit 1; }

if ! id ferrytest >/dev/null 2>&1; then
  useradd --home-dir /var/tmp/ferrytest --no-create-home --shell /usr/sbin/nologin ferrytest
fi
install -d -o ferrytest -g ferrytest -m 0755 /var/tmp/ferrytest
install -d -m 0700 /etc/ferryman-test
if [ ! -s /etc/ferryman-test/password ]; then
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > /etc/ferryman-test/password)
fi
echo "ferrytest:$(cat /etc/ferryman-test/password)" | chpasswd
pam_service='# Used by Ferryman'"'"'s interop tests: password check only (no shell check).
auth    required pam_unix.so nodelay
account required pam_unix.so
session required pam_permit.so'
echo "$pam_service" > /etc/pam.d/ferryman-test    # vsftpd: pam_service_name=ferryman-test
# pure-ftpd's PAM service name is fixed; its package is unpacked, not installed, so no
# package owns this file here. (Its "-l unix" never reads /etc/shadow in this build.)
if [ ! -e /etc/pam.d/pure-ftpd ] || grep -q "Ferryman's interop tests" /etc/pam.d/pure-ftpd; then
  echo "$pam_service" > /etc/pam.d/pure-ftpd
else
  echo "install-servers.sh: /etc/pam.d/pure-ftpd belongs to an installed pure-ftpd; left alone" \
       "(the pure-ftpd interop tests may then fail to log in)" >&2
fi

echo "install-servers.sh: vsftpd $(dpkg-query -W -f='${Version}' vsftpd)," \
  "ProFTPD and pure-ftpd in $DEST, account ferrytest ready"

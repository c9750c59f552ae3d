# softhsm.bash - a fresh SoftHSM2 token for end-to-end scripts that sign
# with a PKCS#11 key.  Sourced, not run: it is not a test (its name does
# not end in .sh, so ctest does not pick it up).
#
#   . "$PAL_SRC/tests/e2e/softhsm.bash"
#   softhsm_setup "$TMP/hsm" || exit 77         # exports SOFTHSM2_CONF
#   softhsm_keygen k P-256 || exit 77            # needs pkcs11-tool (opensc)
#   "$PALISADE" sign model --key "$(softhsm_uri k)"
#   softhsm_pubkey k "$TMP/k.pub.pem"            # for palisade verify --key
#
# Every token lives under the directory given to softhsm_setup, through a
# softhsm2.conf of its own: the machine's tokens are never touched.  The
# PIN is a test PIN and goes into URIs as pin-value on purpose.
#
# Exported by softhsm_setup:
#   SOFTHSM2_CONF    the configuration SoftHSM2 reads when loaded
#   SOFTHSM_MODULE   the PKCS#11 module (palisade's default module path)
#   SOFTHSM_TOKEN    the token label (default "palisade")
#   SOFTHSM_PIN      the user PIN (default 1234)
# Each function returns non-zero, with a line on stderr, when it cannot do
# its work; exit 77 is the usual way for a script to report a skip.

SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

# softhsm_setup DIR [LABEL] [PIN] [SO_PIN]: makes DIR/tokens and a token.
softhsm_setup() {
	local dir=$1 label=${2:-palisade} pin=${3:-1234} so_pin=${4:-5678}
	if ! command -v softhsm2-util >/dev/null || [ ! -r "$SOFTHSM_MODULE" ]
	then
		echo "softhsm.bash: softhsm2 is not installed" >&2
		return 1
	fi
	mkdir -p "$dir/tokens" || return 1
	dir=$(cd "$dir" && pwd) || return 1
	cat >"$dir/softhsm2.conf" <<-EOF
	directories.tokendir = $dir/tokens
	objectstore.backend = file
	log.level = ERROR
	slots.removable = false
	EOF
	export SOFTHSM2_CONF=$dir/softhsm2.conf
	export SOFTHSM_MODULE SOFTHSM_TOKEN=$label SOFTHSM_PIN=$pin
	softhsm2-util --init-token --free --label "$label" --pin "$pin" \
		--so-pin "$so_pin" >/dev/null || {
		echo "softhsm.bash: cannot initialize token $label" >&2
		return 1
	}
}

# softhsm_uri OBJECT [QUERY...]: the URI of a key on the token, with the
# PIN as pin-value unless a query attribute is given instead.
softhsm_uri() {
	local obj=$1 q
	shift
	if [ $# -eq 0 ]; then
		q="pin-value=$SOFTHSM_PIN"
	else
		q=$(IFS='&'; echo "$*")
	fi
	echo "pkcs11:token=$SOFTHSM_TOKEN;object=$obj?module-path=$SOFTHSM_MODULE&$q"
}

# softhsm_keygen OBJECT CURVE [ID_HEX]: an ECDSA key pair for signing,
# CURVE P-256, P-384 or P-521, made with pkcs11-tool (Debian's opensc).
softhsm_keygen() {
	local obj=$1 curve id=${3:-}
	case $2 in
	P-256) curve=prime256v1 ;;
	P-384) curve=secp384r1 ;;
	P-521) curve=secp521r1 ;;
	*) echo "softhsm.bash: curve $2 is not P-256, P-384 or P-521" >&2
	   return 1 ;;
	esac
	if ! command -v pkcs11-tool >/dev/null; then
		echo "softhsm.bash: pkcs11-tool (package opensc) is not" \
			"installed" >&2
		return 1
	fi
	[ -n "$id" ] || id=$(printf '%s' "$obj" | od -An -tx1 | tr -d ' \n')
	pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$SOFTHSM_TOKEN" \
		--login --pin "$SOFTHSM_PIN" --keypairgen \
		--key-type "EC:$curve" --usage-sign --label "$obj" --id "$id" \
		>/dev/null || {
		echo "softhsm.bash: cannot generate key $obj" >&2
		return 1
	}
}

# softhsm_pubkey OBJECT OUT: the key's public half as a PEM file.  The
# SubjectPublicKeyInfo is built from the public object's CKA_EC_PARAMS and
# CKA_EC_POINT as pkcs11-tool lists them, because pkcs11-tool 0.23
# --read-object fails on P-384 public keys.
softhsm_pubkey() {
	local obj=$1 out=$2 pp params point prefix hdr
	pp=$(pkcs11-tool --module "$SOFTHSM_MODULE" \
		--token-label "$SOFTHSM_TOKEN" --list-objects --type pubkey \
		2>/dev/null | awk -v want="$obj" '
		function flush() {
			if (pub && label == want)
				print params, point
			pub = 0; label = ""; params = ""; point = ""
		}
		/^[^ \t]/ { flush(); pub = ($0 ~ /^Public Key Object; EC/) }
		$1 == "EC_POINT:" { point = $2 }
		$1 == "EC_PARAMS:" { params = $2 }
		$1 == "label:" { sub(/^[ \t]*label:[ \t]*/, ""); label = $0 }
		END { flush() }')
	read -r params point <<<"$pp"
	case $params in
	06082a8648ce3d030107)	# P-256
		prefix=3059301306072a8648ce3d020106082a8648ce3d030107034200
		hdr=4 ;;
	06052b81040022)		# P-384
		prefix=3076301006072a8648ce3d020106052b81040022036200
		hdr=4 ;;
	06052b81040023)		# P-521
		prefix=30819b301006072a8648ce3d020106052b8104002303818600
		hdr=6 ;;
	*)	echo "softhsm.bash: no EC public key object $obj" >&2
		return 1 ;;
	esac
	printf '%b' "$(printf '%s%s' "$prefix" "${point:$hdr}" |
		sed 's/../\\x&/g')" >"$out.der" &&
	openssl pkey -pubin -inform DER -in "$out.der" -out "$out" \
		2>/dev/null &&
	rm -f "$out.der" || {
		echo "softhsm.bash: cannot export the public key of $obj" >&2
		return 1
	}
}

/*
 * payload_fuzz_keys.h - the private keys fuzz_payload opens with, made
 * for the fuzz target alone (openssl genpkey); its seeds are sealed to
 * them.  Test keys: they protect nothing.
 */
#ifndef PAL_PAYLOAD_FUZZ_KEYS_H
#define PAL_PAYLOAD_FUZZ_KEYS_H

static const char fuzz_x25519_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VuBCIEIECG4i4LDqYigDmvRBzznqkbrOX9EBNOHvMDzAkBmztx\n"
	"-----END PRIVATE KEY-----\n";

static const char fuzz_p256_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8KXWJY8cPVPlbqbC\n"
	"OldygPL+I5YDyx5at/dwkc5deHihRANCAATtKpkPmhHRxPnOdsFqhgkLe7+HUAp8\n"
	"ohAFlRnRiKoR2aohvwvtRpVysRQx7tEZsaGmbryx3tnSODFkq+iXhxdk\n"
	"-----END PRIVATE KEY-----\n";

static const char fuzz_rsa_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIG/QIBADANBgkqhkiG9w0BAQEFAASCBucwggbjAgEAAoIBgQDBZxPenfX/tbza\n"
	"UiJNdtUDdSP82KpcMzFf3Ao0DySUNkAhbjOCva9h444BpEFhRC1+MS7gL+tOxk/X\n"
	"eDFAdCN/9na6YRU5VBAd6XZNGbOE0lI32bQZ0TDOBZAg0OgB3PqoCrkefwXZ4B8i\n"
	"+yoYtefFQN7e2v+KJQZNEM24+Z1rSs1Q/t37kdTiyHnniP09SDlTEqHcPTO/TtGH\n"
	"1JWnJoFPvCOmrJgUonXOdxH4Cc5zByO8foR/FZbAqTsZh4UJt418506grOBuNtE9\n"
	"bB6/nRFUz+0ka3Btc08Lfu2JvdcBLooZWh2ILEU+859InDmuaRznpTUU+QSBKmLu\n"
	"UPLb+eTLgBdhYWZ0LjO3VkbNAxb9SEh5e8jAKhoxQx3aA7maOaGxbMyzC+SN+uT4\n"
	"MOMZrUieQ7RlNShjIKcEBRJQOA3arQtQqBT41Ck+AW4zM+pDbvN4snDq7gWe4niA\n"
	"MykEF0jtoII+sTtkV7w2SzK8JwlbTTtHOU8OvlauCtuUKh+7c9cCAwEAAQKCAYA4\n"
	"viFaQ0YVjCCofUiLKb49kXTJjlgNTQfDdC+aLocw5OnT5R0/0p9OPRFA8gwsmXAv\n"
	"ggaax/Rl3FE4io8ItgpkVM9ox2sOstc3r3OCE3RUF9D/ieQJXxLOn1s2BZTMVyVD\n"
	"gEHn7KSu087O2Jn1PgmOGgZJpD8tLMe4fKGfD71b6Upr5RsD4DlxgBgkElEaVcJb\n"
	"2S+cCmjQTDO1gm2V6Povhqd/E0xbYX7m4JBpEZd8sC+P8h61moPsarpoNxaVT0C1\n"
	"FokxaQES4IT9imtBZnfJxcYq7g37jALuEmABuF+qLP4DXoaXi38B+WBRRCRTitV3\n"
	"blnPncgOgv7jpz6yswtf/d2uVrLqt/lbaY6X9sOmnMRXgZ0nWMr6uDJyD7mTfzHK\n"
	"CPEKLcNOvRrbxBLU6Lc1EiwKzgUItX0eQh/YdlZqCuQpaxcwxUtuBJ/d11sSu0Z9\n"
	"LJ7dr07ipPseY0DIdoTHP/QrJm8FAMsD+qp8Qf8j1PHD4ASccZxWlDycWHBAlWEC\n"
	"gcEA6cqhJDNYx+CYQL8rjt/1OVgm1qj1XqVOzwDZtg20R47FIzi5R5nqtauSWC6T\n"
	"kzuTk1ff+xTV9smEpfP5jsaJ2ypa1346w7KWk2vw5Kpvl/ep6IIEGmkCgVT52Q8a\n"
	"A6PYbo0T1OGFYevaoafndGsYQssGB+b3PbwqnfpBeNdR93z4z1zOHETUp3pjqPrz\n"
	"fMESFZWvkkZy5lx4ZP2bcjI/fWb9NL+GlQj/KzMvtv09FxGaxzJhn/Dp7W/XUVvv\n"
	"60llAoHBANPGRED1edutgqpZpcJRF2rnjx8a0dffHcP1ISO56o9G77iPSQLSERO9\n"
	"tw5McwnGQqD+H+0AkkjVUd2OoUwcv0kK1jSDdBklIChL+tH1+ex45QUZqNXRdtyR\n"
	"x6DaesyF2HnZxRM5Xr1IDlITacPi91mWzxqMczM0lbLLM1RyRR9LygUcneIXjkXl\n"
	"z6ja2VnmXlGoBK8c40VHqvV4/Fhw7EizAOxn560sVcUzMVBM9GWfg2leohHlHPkM\n"
	"g+g0HDOSiwKBwFDGXKR4RR1R4OjF5BPKFxzH8ytJVvVrYe4tWgsHcxkiH8SKjaFK\n"
	"cYhxDe//r6c390X6H33Ndht9BqKbx8ZnnCun15kKmN0Sb+nhampm5IV54S9e9HH3\n"
	"hBERPf2btR461sVjYs2zWXU6muAtdc+ITOqO4LeMOjIPOB4637ITmtNKT2C9rMyh\n"
	"j2OJ6rLweX3J6yif/fgo9PvYSRSDdtieucbm9WbrIWGOqTLQzZSIrDmzMGnQY2By\n"
	"STBq6tbGT/9X7QKBwQCKY9c4h/HhD6sCvWCn8iwWbUnG7tTQd/pQkwDcAuN4S8fd\n"
	"2KzCjhogx2o3itfmPExQPqEIVMZDmDtOSKW5QlPyXIWMfZbB09QG4VgAGvj+giZP\n"
	"RexiBebhztYglIWI37KONjQmEuiJUuwg0JTeMJSpU/b1B3FEtglZdJaPibkH8ZQL\n"
	"8R5voCsWHE6uro04xWU/gUfGU19lZ6cdkLl+5hRSkb95vZDVRtKp8oE4U4GmYy4S\n"
	"Dohkn09mpLoSZPNE9G8CgcAmp8tKOKZiVEojsDBO6boxPk1z/pC81vtiEltpWqyS\n"
	"5KEGBa/bjdXC5+zDullzszw5gJekwusvCVpnF5fVHhKp3T8tQ4sN7aNGbVGN9PlE\n"
	"elhVTUM/31v5tgUG1z9mCrfuD88Q1Syo5rNk36+JZu2wrkd9TRx+Y9csre780OlO\n"
	"V8kw0/jvHMTW5ENoK+jeJpdy/lshv6Cv5bs7mHx7PfqzHYrJbXnq7+dDIVpQUu2H\n"
	"BXLLTLb8iFypLpnUQRe/J2U=\n"
	"-----END PRIVATE KEY-----\n";

#endif

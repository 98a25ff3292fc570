/*
 * umd's recipient rules (um/src/voicemail/recipient.h) on outside input: a called party's URI
 * from a gateway, a mail value from the directory. The same bytes are taken as an address (a
 * directory value, NULs included), as a URI (its user part, then a whole template lookup), as a
 * template and as the number escaped into a filter. Whatever is accepted keeps its promises: an
 * address has one @ and no byte SMTP would read as a line end or a separator, a lookup always
 * ends at a valid address, the filter value cannot close the filter, and every reason is
 * printable ASCII.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "voicemail/recipient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
printable_or_die(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			abort();
}

static void
address_promises(const char *a, size_t len)
{
	size_t i, at = 0;

	if (len == 0 || len > UM_RECIPIENT_ADDRESS_MAX)
		abort();
	for (i = 0; i < len; i++) {
		if (a[i] == '@')
			at++;
		if ((unsigned char)a[i] <= 0x20 || (unsigned char)a[i] >= 0x7f || a[i] == '"' ||
		    a[i] == '<' || a[i] == '>')
			abort();
	}
	if (at != 1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct um_recipients *r;
	struct um_recipient res;
	char why[512], user[UM_RECIPIENT_USER_MAX + 1], out[UM_RECIPIENT_ADDRESS_MAX + 1];
	char *s, *f = NULL;
	const char *prefix = "(telephoneNumber=";
	size_t i, n;

	if (r == NULL) {
		struct um_recipient_conf c = {.recipient = "%u@example.test",
		                              .fallback_recipient = "voicemail@example.test"};

		if (um_recipients_new(&c, &r) != UM_OK)
			abort();
	}
	/* a directory value: any bytes */
	why[0] = '\0';
	if (um_recipient_address_valid((const char *)data, size, why, sizeof(why)))
		address_promises((const char *)data, size);
	else
		printable_or_die(why);

	if ((s = strndup((const char *)data, size)) == NULL)
		return 0;
	/* a called party */
	if (um_recipient_user_part(s, user, sizeof(user), why, sizeof(why))) {
		if (strlen(user) == 0 || strchr(user, ';') != NULL)
			abort();
	} else {
		printable_or_die(why);
	}
	if (!um_recipient_user_safe(s, why, sizeof(why)))
		printable_or_die(why);
	if (um_recipients_lookup(r, s, &res) != UM_OK)
		abort(); /* a template with a fallback always answers */
	address_promises(res.address, strlen(res.address));
	printable_or_die(res.why);
	if (res.how == UM_RECIPIENT_FALLBACK && strcmp(res.address, "voicemail@example.test"))
		abort();
	/* a template */
	(void)um_recipient_expand(s, "1001", out, sizeof(out));
	if (um_recipient_filter(s, "1", &f) == UM_OK)
		free(f);
	f = NULL;
	/* the number in a filter: the value never closes it nor adds a wildcard */
	if (um_recipient_filter("(telephoneNumber=%u)", s, &f) == UM_OK) {
		n = strlen(f);
		if (strncmp(f, prefix, strlen(prefix)) != 0 || n < strlen(prefix) + 1 ||
		    f[n - 1] != ')')
			abort();
		for (i = strlen(prefix); i + 1 < n; i++)
			if (f[i] == '(' || f[i] == ')' || f[i] == '*')
				abort();
		free(f);
	}
	free(s);
	return 0;
}

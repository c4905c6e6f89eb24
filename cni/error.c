/* cni/error.c — the plugin's one error: the first failure's code and message, printed as the spec's error JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "cni/cni.h"

static int err_code;
static char err_msg[1024];
static char err_details[1024];

bool cni_utf8(const char *s)
{
	return !json_string_refusal((const unsigned char *)s, strlen(s)); /* a C string holds no NUL */
}

/* The writer refuses what is not UTF-8, and the error must get out: a byte that is no character becomes '?'
 * (a bad CNI_IFNAME quoted, or a message cut by its buffer inside a character). */
static void make_utf8(char *s)
{
	for (size_t n, left = strlen(s); *s; s += n, left -= n)
		if (!(n = json_utf8_char((unsigned char *)s, left))) {
			*s = '?';
			n = 1;
		}
}

int cni_fail(int code, const char *fmt, ...)
{
	va_list ap;

	if (err_code) /* the first error is the cause; later ones are cleanup */
		return err_code;
	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
	va_end(ap);
	make_utf8(err_msg);
	err_code = code;
	return code;
}

int cni_fail_json(int code, const char *msg, const char *details)
{
	if (err_code)
		return err_code;
	snprintf(err_msg, sizeof(err_msg), "%s", msg ? msg : "");
	snprintf(err_details, sizeof(err_details), "%s", details ? details : "");
	make_utf8(err_msg);
	make_utf8(err_details);
	err_code = code;
	return code;
}

int cni_error_code(void)
{
	return err_code;
}

void cni_error_clear(void)
{
	err_code = 0;
	err_msg[0] = err_details[0] = '\0';
}

int cni_print_json(struct jw *w)
{
	size_t len;
	int err = -1;

	if (!jw_finish(w)) {
		const char *text = jw_text(w, &len);
		err = fwrite(text, 1, len, stdout) == len && putchar('\n') != EOF ? 0 : -1;
	}
	jw_free(w);
	return err;
}

void cni_print_error(const char *version)
{
	struct jw w;

	jw_init(&w, NULL, 0);
	jw_object(&w);
	jw_kstring(&w, "cniVersion", version ? version : CNI_VERSION);
	jw_kint(&w, "code", err_code);
	jw_kstring(&w, "msg", err_msg);
	if (err_details[0])
		jw_kstring(&w, "details", err_details);
	jw_object_end(&w);
	if (cni_print_json(&w)) /* no memory for the writer: the code at least, in the same shape */
		printf("{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":\"out of memory\"}\n", CNI_VERSION, err_code);
}

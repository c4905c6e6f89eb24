/* cni/error.c — the plugin's one error: the first failure's code and message, printed as the spec's error JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <json-c/json.h>
#include "cni/cni.h"

static int err_code;
static char err_msg[1024];
static char err_details[1024];

int cni_fail(int code, const char *fmt, ...)
{
	va_list ap;

	if (err_code) /* the first error is the cause; later ones are cleanup */
		return err_code;
	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
	va_end(ap);
	err_code = code;
	return code;
}

int cni_fail_json(int code, const char *msg, const char *details)
{
	if (err_code)
		return err_code;
	snprintf(err_msg, sizeof(err_msg), "%s", msg ? msg : "");
	snprintf(err_details, sizeof(err_details), "%s", details ? details : "");
	err_code = code;
	return code;
}

int cni_error_code(void)
{
	return err_code;
}

void cni_print_error(const char *version)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "cniVersion", json_object_new_string(version ? version : CNI_VERSION));
	json_object_object_add(o, "code", json_object_new_int(err_code));
	json_object_object_add(o, "msg", json_object_new_string(err_msg));
	if (err_details[0])
		json_object_object_add(o, "details", json_object_new_string(err_details));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pure parts of the settings layer (host/settings/): password hashing
 * and strength, proxy selection, exclusion rules and their XML form. They
 * take plain values and JSON and need nothing of the host but the helper
 * library's JSON getters, so their tests link them with the base library
 * only; the glue that reads the host's effective settings lives in
 * general-settings.c (general.h).
 */
#pragma once

#include "base/base.h"

G_BEGIN_DECLS

/* ---- password.c: salted slow hashes and strength advice ------------- */

/* PBKDF2-HMAC-SHA256 iterations of new hashes (OWASP 2023: 600,000). */
#define VH_PASSWORD_ITERATIONS 600000
/* Accepted when verifying: a hash below this is refused as too weak. */
#define VH_PASSWORD_MIN_ITERATIONS 100000
/* And above this as absurd: a policy with i=2000000000 would make every
 * protected action spin for hours. 10 million takes seconds on a slow
 * device, far more than any recommendation asks. */
#define VH_PASSWORD_MAX_ITERATIONS 10000000
/* Longest password accepted from a prompt or a file descriptor. */
#define VH_PASSWORD_MAX_LEN 1024

/* Strength advice recorded in a hash (see docs/general-settings.md). */
typedef enum {
  VH_WEAK_NONE    = 0,
  VH_WEAK_LENGTH  = 1 << 0,  /* shorter than 8 characters */
  VH_WEAK_CLASSES = 1 << 1,  /* fewer than 3 character classes */
  VH_WEAK_NAME    = 1 << 2,  /* contains an account or device name */
} VhWeakness;

/* Which of the recommendations @password misses; @names (NULL-terminated,
 * may be NULL) are account and device names it must not contain. */
guint     vh_password_weakness   (const char *password, const char *const *names);
/* (transfer full) human-readable advice for each bit of @weakness. */
GStrv     vh_password_advice     (guint weakness);
/* (transfer full) "$pbkdf2-sha256$i=N,w=W$<salt b64>$<key b64>", or NULL
 * with @error. @iterations 0 means VH_PASSWORD_ITERATIONS. */
char     *vh_password_hash       (const char *password, guint iterations,
                                  guint weakness, GError **error);
/* Parses @hash; on success sets the recorded weakness (may be NULL). */
gboolean  vh_password_hash_parse (const char *hash, guint *iterations,
                                  guint *weakness, GError **error);
/* Constant-time comparison of @password against @hash. FALSE with @error
 * only when @hash is malformed; a wrong password gives FALSE, no error. */
gboolean  vh_password_verify     (const char *password, const char *hash,
                                  GError **error);

/* ---- proxy.c: which proxy for a URL --------------------------------- */

/* @proxy: the `general` section's proxy group (mode, address, port, user,
 * password, bypass_local). @getenv_func looks up environment variables
 * (g_getenv in the host; a table in tests). Returns: (transfer full) the
 * proxy URI, or NULL for a direct connection (@error unset) or on error. */
typedef const char *(*VhGetenvFunc) (const char *name);
char     *vh_proxy_select     (JsonObject *proxy, const char *url,
                               VhGetenvFunc getenv_func, GError **error);
/* Loopback, link-local, RFC 1918 / unique-local addresses and single-label
 * names ("fileserver") count as local. */
gboolean  vh_proxy_host_is_local (const char *host);
/* Whether @host matches a no_proxy list ("example.com,.lan,10.0.0.0/8,*"). */
gboolean  vh_proxy_no_proxy_match (const char *no_proxy, const char *host);

/* ---- exclusions.c: telemetry exclusion rules ------------------------ */

/* @group: the `general` section's telemetry_exclusions group. Whether an
 * event of @type with @payload is excluded from telemetry. */
gboolean  vh_exclusions_match         (JsonObject *group, const char *type,
                                       JsonObject *payload);
/* Cross-field checks of one rule; problems go to @report (API function
 * @report_problem, so that tests can use the host's or their own) under
 * @path ("telemetry_exclusions.processes[2]"). */
typedef void (*VhReportFunc) (gpointer report, VigilSeverity severity,
                              const char *path, const char *message);
void      vh_exclusions_check_process (JsonObject *rule, const char *path,
                                       VhReportFunc report_func, gpointer report);
void      vh_exclusions_check_network (JsonObject *rule, const char *path,
                                       VhReportFunc report_func, gpointer report);
/* Whether @address (an IP) lies in @cidr ("10.0.0.0/8", or one address). */
gboolean  vh_address_in_cidr          (const char *address, const char *cidr);

/* ---- exclusions-xml.c: import and export ----------------------------- */

#define VH_EXCLUSIONS_XML_MAX (4 * 1024 * 1024)

/* (transfer full) {"processes":[...], "networks":[...]} from the XML in
 * @data; errors name @filename and the line. */
JsonObject *vh_exclusions_from_xml (const char *data, gsize len,
                                    const char *filename, GError **error);
/* (transfer full) the XML document for the rules in @group (its
 * "processes" and "networks" lists). */
char       *vh_exclusions_to_xml   (JsonObject *group, GError **error);

G_END_DECLS

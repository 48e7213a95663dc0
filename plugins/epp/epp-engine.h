/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The epp plugin's engine: the adapter that runs an endpoint protection
 * product's on-demand scanner over a device's critical areas and turns its
 * report into findings. Kept apart from the plugin glue so that tests link
 * it directly. The critical areas and the output format are documented in
 * docs/sandbox-response.md.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <vigil/plugin.h>
#include <vigil/util/json.h>
#include <vigil/util/settings.h>

G_BEGIN_DECLS

typedef enum {
  VP_PRODUCT_CLAMAV,   /* clamdscan when clamd answers, else clamscan */
  VP_PRODUCT_COMMAND,  /* any command printing clamscan-style lines */
} VpProduct;

typedef struct {
  VpProduct  product;
  char      *command;      /* NULL: the product's default */
  GStrv      args;         /* extra arguments, may be NULL */
  guint      timeout_sec;
  char      *database;     /* NULL: the product's own; else the device's
                            * database folder made by epp.update (clamscan
                            * --database) */
} VpConfig;

/* epp-schema.c: the `epp` section's schema, the one copy of its defaults. */
extern const VigilSection vp_schema;

void      vp_config_clear (VpConfig *config);
/* Reads the effective `epp` section (group "product"); a value missing or
 * of the wrong type takes the schema's default. */
gboolean  vp_config_from_settings (VpConfig *config, JsonObject *settings,
                                   GError **error);

/* ---- critical areas (epp-areas.c) ---- */

typedef struct {
  GPtrArray *paths;    /* host paths (inside the root), existing, unique */
  JsonArray *skipped;  /* {"area","reason"} for areas not scanned */
} VpAreas;

void      vp_areas_clear (VpAreas *areas);
/* @root: the device root; "/" means this machine. */
void      vp_areas_collect (const char *root, VpAreas *areas);

/* ---- the scanner's report (epp-parse.c) ---- */

typedef struct {
  JsonArray *findings;  /* {"path","threat","engine"}; device paths */
  JsonArray *errors;    /* {"path","message"} */
  JsonObject *summary;  /* clamscan's SCAN SUMMARY, keys lower_snake */
  gboolean   has_summary;
} VpReport;

void      vp_report_clear (VpReport *report);
/* "/srv/lab/pc1/etc/x" -> "/etc/x" for a device rooted at /srv/lab/pc1;
 * other paths unchanged. (transfer none): points into @path. */
const char *vp_device_path (const char *path, const char *root);
/* Parses clamscan/clamdscan output. @root is stripped from paths so they
 * read as the device sees them; @engine names the engine in findings when
 * the summary does not. */
void      vp_report_parse (VpReport *report, const char *output, gsize len,
                           const char *root, const char *engine);

/* ---- running the product (epp-run.c) ---- */

/* A child process run to its end on the calling thread (a private main
 * context), stopped at the timeout or on cancel. Shared by the scan and
 * the update. */
typedef struct {
  GSubprocess *proc;
  GBytes      *out;
  GBytes      *err;
  GError      *error;
  gboolean     done;
  gboolean     timed_out;
} VpChild;

/* FALSE with @error only when the child could not be started. */
gboolean  vp_child_run (VpChild *c, const char *const *argv, guint timeout_sec,
                        GCancellable *cancellable, GError **error);
void      vp_child_clear (VpChild *c);
/* (transfer full) the first line of the child's stderr, for messages. */
char     *vp_child_stderr_line (VpChild *c);

/*
 * vp_critical_scan:
 * Runs the configured product over @areas of the device at @root with the
 * configured timeout; cancel with @cancellable. Returns: (transfer full)
 * the task result ({"product","command","engine","exit_status","findings",
 * "errors","summary","scanned_areas","skipped_areas"}), or NULL with @error
 * (missing product, timeout, the command failing without a report).
 */
JsonObject *vp_critical_scan (const VpConfig *config, const char *root,
                              const VpAreas *areas, GCancellable *cancellable,
                              GError **error);

/* ---- the database update (epp-update.c) ---- */

typedef enum {
  VP_SOURCE_OFFICIAL,  /* ClamAV's mirror (DatabaseMirror) */
  VP_SOURCE_PRIVATE,   /* the admin's mirrors (PrivateMirror) */
  VP_SOURCE_CUSTOM,    /* only custom signature URLs (DatabaseCustomURL) */
} VpSource;

typedef struct {
  VpSource  source;
  GStrv     mirrors;      /* never NULL */
  GStrv     custom_urls;  /* never NULL */
  gboolean  use_proxy;
  guint     attempts;
  guint     timeout_sec;
  char     *updater;      /* NULL: freshclam from PATH */
} VpUpdateConfig;

void      vp_update_config_clear (VpUpdateConfig *config);
/* Reads the effective `epp` section's group "update" (defaults from the
 * schema), then the task's @params (may be NULL): a "source" other than
 * "policy" and non-empty "mirrors"/"custom_urls" replace the policy's.
 * Fails with INVALID naming the bad value (see vp_update_check_*). */
gboolean  vp_update_config_load (VpUpdateConfig *config, JsonObject *settings,
                                 JsonObject *params, GError **error);
/* A custom signature URL: http or https with a host, or file:/// with an
 * absolute path without '..'; no whitespace, quotes or control characters
 * (it goes into a line of freshclam.conf), a file name with a signature
 * database extension. */
gboolean  vp_update_check_url (const char *url, GError **error);
/* A private mirror: an http(s) URL or a host name ("mirror.lan:8080"). */
gboolean  vp_update_check_mirror (const char *mirror, GError **error);

/* The database folder of a device: the machine's own (/var/lib/clamav)
 * when @root is "/", else @data_dir/databases/<device id> (the plugin's
 * data dir, so a lab device's files stay as the lab made them).
 * (transfer full) */
char     *vp_update_database_dir (const char *data_dir, const char *device_id,
                                  const char *root);
/* Whether @dir holds at least one signature database. */
gboolean  vp_database_present (const char *dir);
/* The signature databases in @dir: [{"file","size","version","signatures",
 * "sha256"}] sorted by file name; "version" for .cvd/.cld only, "sha256"
 * for the others (small custom files). (transfer full) */
JsonArray *vp_database_inventory (const char *dir);

/*
 * vp_update_run:
 * Writes @conf_path (freshclam.conf, mode 0600: it may hold the proxy's
 * credentials) for @config with @db_dir and @proxy_uri (may be NULL),
 * runs freshclam with it (no shell, the config's timeout, cancellable)
 * and compares the databases before and after. Returns: (transfer full)
 * {"source","updater","database_dir","exit_status","changed","changes",
 * "databases","signatures_before","signatures_after","output"}, or NULL
 * with @error (updater missing, timeout, freshclam failing: its last
 * error lines are in the message).
 */
JsonObject *vp_update_run (const VpUpdateConfig *config, const char *db_dir,
                           const char *conf_path, const char *proxy_uri,
                           GCancellable *cancellable, GError **error);

G_END_DECLS

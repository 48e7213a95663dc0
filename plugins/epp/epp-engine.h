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

G_END_DECLS

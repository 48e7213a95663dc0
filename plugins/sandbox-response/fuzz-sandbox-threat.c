/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for what sandbox-response reads from outside: a
 * sandbox.threat_detected payload (from the sandbox, a file or a socket)
 * and a sandbox_response settings object (from a policy), each parsed,
 * validated and, when valid, turned into the OpenIOC document and task
 * parameters the response would create. The input is JSON text; the first
 * byte picks payload (even) or settings (odd).
 */
#include <stdint.h>

#include "sr-engine.h"

#include <vigil/util/json.h>

#define FUZZ_MAX_INPUT (64 * 1024)

static void
ignore_problem (gboolean is_error, const char *path, const char *message, gpointer data)
{
  g_assert_nonnull (path);
  g_assert_nonnull (message);
}

static void
fuzz_payload (JsonObject *payload)
{
  SrThreat t;
  SrConfig c = { 0 };
  g_autofree char *xml = NULL;
  g_autoptr (JsonObject) params = NULL;

  if (!sr_threat_parse (payload, 1, &t, NULL))
    return;
  c.scope = g_strdup ("system_drives");
  c.window_start = g_strdup ("20:00");
  c.window_end = g_strdup ("07:00");
  xml = sr_ioc_build (&t, 0);
  params = sr_ioc_scan_params (&c, &t, 0);
  g_assert_nonnull (strstr (xml, t.sha256));
  sr_config_clear (&c);
  sr_threat_clear (&t);
}

static void
fuzz_settings (JsonObject *settings)
{
  SrConfig c;
  g_autofree char *schedule = NULL;

  sr_settings_check (settings, ignore_problem, NULL);
  sr_config_from_settings (&c, settings);
  schedule = sr_schedule_json (&c);
  sr_config_clear (&c);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (JsonNode) root = NULL;

  if (size < 1 || size > FUZZ_MAX_INPUT)
    return 0;
  /* Read as the host reads them: a payload with the strict reader keeping
   * big integers as written (strings), settings (from a policy) strict. */
  root = vigil_json_parse ((const char *) data + 1, (gssize) size - 1,
                           data[0] % 2 == 0 ? VIGIL_JSON_KEEP_BIG_INTEGERS : VIGIL_JSON_STRICT,
                           NULL, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return 0;
  if (data[0] % 2 == 0)
    fuzz_payload (json_node_get_object (root));
  else
    fuzz_settings (json_node_get_object (root));
  return 0;
}

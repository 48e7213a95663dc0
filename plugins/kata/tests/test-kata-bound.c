/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The spool bound as a policy setting (data_submission.spool_max_events):
 * it bounds appends, and lowering it drops at once, the oldest
 * low-importance events first, detections only when nothing else is left,
 * reported by the next cycle's kata.events_dropped.
 */
#include "kata-test-engine.h"

#include <signal.h>
#include <string.h>

static VtCerts *certs;

static void
submit_n (KtFx *fx, const char *type, guint n)
{
  for (guint i = 0; i < n; i++)
    kt_fx_submit (fx, type);
}

static void
set_bound (KtFx *fx, guint max_events)
{
  fx->settings->spool_max_events = max_events;
  kata_engine_configure (fx->engine, fx->settings);
}

static void
test_bound_limits_appends (void)
{
  KtFx *fx = kt_fx_new (certs);

  set_bound (fx, 1000);
  submit_n (fx, "process.started", 1005);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 1000);
  g_assert_cmpint (kt_fx_status_int (fx, "dropped_low"), ==, 5);
  kt_fx_free (fx);
}

static void
test_shrink_drops_oldest_low_first (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
  guint16 port = kt_server_port (srv);
  GArray *sizes;

  submit_n (fx, "process.started", 900);    /* ev-000000 … the oldest */
  submit_n (fx, "ioc.found", 300);
  submit_n (fx, "quarantine.deleted", 900);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 2100);
  set_bound (fx, 1000);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 1000);
  g_assert_cmpint (kt_fx_status_int (fx, "dropped_low"), ==, 1100);
  g_assert_cmpint (kt_fx_status_int (fx, "dropped_high"), ==, 0);
  /* Reported at the next cycle, which then sends what is left: every
   * detection and the newest 700 low-importance events. */
  fx->settings->max_per_package = 100000;
  kt_fx_servers (fx, 1, &port);
  kata_engine_send_now (fx->engine, NULL);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.events_dropped: {\"dropped\":1100,"), ==, 1);
  g_assert_cmpuint (kt_server_type_count (srv, "ioc.found"), ==, 300);
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, 0);
  g_assert_cmpuint (kt_server_type_count (srv, "quarantine.deleted"), ==, 700);
  sizes = kt_server_package_sizes (srv);
  g_assert_cmpuint (sizes->len, ==, 1);
  g_array_unref (sizes);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_shrink_below_detections (void)
{
  KtFx *fx = kt_fx_new (certs);

  submit_n (fx, "process.started", 10);
  submit_n (fx, "ioc.found", 1200);
  set_bound (fx, 1000);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 1000);
  g_assert_cmpint (kt_fx_status_int (fx, "dropped_low"), ==, 10);
  g_assert_cmpint (kt_fx_status_int (fx, "dropped_high"), ==, 200);
  /* Growing again drops nothing more. */
  set_bound (fx, 5000);
  g_assert_cmpint (kt_fx_status_int (fx, "dropped_high"), ==, 200);
  kt_fx_free (fx);
}

static void
test_setting_read_with_range (void)
{
  const char *texts[] = {
    "{\"data_submission\":{\"spool_max_events\":250000}}",
    "{\"data_submission\":{\"spool_max_events\":10}}",
    "{}",
  };
  const guint expect[] = { 250000, 1000, 100000 };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (JsonNode) n = json_from_string (texts[i], NULL);
      g_autoptr (KataSettings) s = kata_settings_from_json (json_node_get_object (n), NULL);
      g_assert_cmpuint (s->spool_max_events, ==, expect[i]);
    }
}

/* Turning the integration off (a policy removed: the default bound) keeps
 * the spool whole; the bound applies again once it is on. */
static void
test_disabled_keeps_spool (void)
{
  KtFx *fx = kt_fx_new (certs);

  submit_n (fx, "process.started", 1200);
  fx->settings->enabled = FALSE;
  set_bound (fx, 1000);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 1200);
  g_assert_cmpint (kt_fx_status_int (fx, "dropped_low"), ==, 0);
  fx->settings->enabled = TRUE;
  set_bound (fx, 1000);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 1000);
  g_assert_cmpint (kt_fx_status_int (fx, "dropped_low"), ==, 200);
  kt_fx_free (fx);
}

int
main (int argc, char **argv)
{
  int rc;

  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  certs = vt_certs_new ();
  g_test_add_func ("/kata/bound/limits-appends", test_bound_limits_appends);
  g_test_add_func ("/kata/bound/shrink-drops-oldest-low-first", test_shrink_drops_oldest_low_first);
  g_test_add_func ("/kata/bound/shrink-below-detections", test_shrink_below_detections);
  g_test_add_func ("/kata/bound/setting-read-with-range", test_setting_read_with_range);
  g_test_add_func ("/kata/bound/disabled-keeps-spool", test_disabled_keeps_spool);
  rc = g_test_run ();
  vt_certs_free (certs);
  return rc;
}

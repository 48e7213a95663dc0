/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The test engine fixture (kata-test-engine.h). Task creation refuses the
 * type "nope.none" as one the device cannot run (as the plugin's hook
 * says of a type no plugin provides) and a schedule {"kind":"refused"},
 * as the host refuses what it does not know.
 */
#include "kata-test-engine.h"
#include "vt-cli.h"

#include <glib/gstdio.h>
#include <string.h>

static gint64
fx_now (gpointer data)
{
  return ((KtFx *) data)->now;
}

static void
fx_emit (gpointer data, const char *type, JsonObject *payload)
{
  KtFx *fx = data;
  g_autoptr (JsonNode) n = json_node_init_object (json_node_alloc (), payload);
  g_autofree char *text = json_to_string (n, FALSE);

  g_ptr_array_add (fx->emitted, g_strdup_printf ("%s: %s", type, text));
}

static char *
fx_create_task (gpointer data, JsonObject *task, GError **error)
{
  KtFx *fx = data;
  g_autoptr (JsonNode) n = json_node_init_object (json_node_alloc (), task);
  JsonNode *schedule = json_object_get_member (task, "schedule");

  if (g_strcmp0 (json_object_get_string_member (task, "type"), "nope.none") == 0)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_TASK_UNSUPPORTED,
                   "this device cannot run tasks of type 'nope.none'");
      return NULL;
    }
  if (schedule && JSON_NODE_HOLDS_OBJECT (schedule) &&
      g_strcmp0 (json_object_get_string_member_with_default (
          json_node_get_object (schedule), "kind", NULL), "refused") == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "schedule.kind: unknown kind \"refused\"");
      return NULL;
    }
  g_ptr_array_add (fx->tasks, json_to_string (n, FALSE));
  return g_strdup_printf ("task-%u", fx->tasks->len);
}

static char *
fx_resolve_proxy (gpointer data, const char *url, GError **error)
{
  KtFx *fx = data;

  fx->proxy_asks++;
  return g_strdup (fx->proxy_uri);
}

static void
open_engine (KtFx *fx)
{
  KataHooks hooks = { fx_now, fx_emit, fx_create_task, fx_resolve_proxy, fx };
  KataEngineOptions opts = { fx->dir, "device-a", fx->spool_max, FALSE, NULL };
  g_autoptr (GError) error = NULL;

  fx->engine = kata_engine_new (&opts, &hooks, &error);
  g_assert_no_error (error);
  kata_engine_configure (fx->engine, fx->settings);
}

KtFx *
kt_fx_new (VtCerts *certs)
{
  KtFx *fx = g_new0 (KtFx, 1);

  fx->now = 1795000000LL * G_USEC_PER_SEC;
  fx->emitted = g_ptr_array_new_with_free_func (g_free);
  fx->tasks = g_ptr_array_new_with_free_func (g_free);
  fx->dir = g_dir_make_tmp ("kata-fx-XXXXXX", NULL);
  fx->settings = kata_settings_new_default ();
  fx->settings->enabled = TRUE;
  fx->settings->use_pinned = TRUE;
  fx->settings->pinned_pem = vt_read_text (certs->server_pem);
  fx->settings->throttle_enabled = FALSE;
  open_engine (fx);
  return fx;
}

void
kt_fx_reopen (KtFx *fx)
{
  kata_engine_free (fx->engine);
  open_engine (fx);
}

void
kt_fx_free (KtFx *fx)
{
  kata_engine_free (fx->engine);
  kata_settings_free (fx->settings);
  vt_rm_rf (fx->dir);
  g_free (fx->dir);
  g_ptr_array_unref (fx->emitted);
  g_ptr_array_unref (fx->tasks);
  g_free (fx->proxy_uri);
  g_free (fx);
}

void
kt_fx_servers (KtFx *fx, guint n, const guint16 *ports)
{
  g_ptr_array_set_size (fx->settings->servers, 0);
  for (guint i = 0; i < n; i++)
    kata_settings_add_server (fx->settings, "127.0.0.1", ports[i]);
  kata_engine_configure (fx->engine, fx->settings);
}

void
kt_fx_submit_with (KtFx *fx, const char *type, const char *image, const char *sha256)
{
  g_autoptr (JsonObject) rec = json_object_new ();
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autofree char *id = g_strdup_printf ("ev-%06u", fx->next_id++);
  g_autoptr (GError) error = NULL;

  if (image != NULL)
    json_object_set_string_member (payload, "image", image);
  if (sha256 != NULL)
    json_object_set_string_member (payload, "sha256", sha256);
  json_object_set_string_member (rec, "id", id);
  json_object_set_string_member (rec, "type", type);
  json_object_set_string_member (rec, "device", "device-a");
  json_object_set_object_member (rec, "payload", g_steal_pointer (&payload));
  g_assert_true (kata_engine_submit (fx->engine, type, rec, &error));
  g_assert_no_error (error);
}

void
kt_fx_submit (KtFx *fx, const char *type)
{
  kt_fx_submit_with (fx, type, NULL, NULL);
}

guint
kt_fx_emitted (KtFx *fx, const char *prefix)
{
  guint n = 0;

  for (guint i = 0; i < fx->emitted->len; i++)
    n += g_str_has_prefix (g_ptr_array_index (fx->emitted, i), prefix);
  return n;
}

gint64
kt_fx_status_int (KtFx *fx, const char *path)
{
  g_autoptr (JsonObject) st = kata_engine_status (fx->engine);
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  JsonObject *o = st;
  guint i;

  for (i = 0; parts[i + 1] != NULL; i++)
    {
      g_assert_true (json_object_has_member (o, parts[i]));
      o = json_object_get_object_member (o, parts[i]);
    }
  g_assert_true (json_object_has_member (o, parts[i]));
  return json_object_get_int_member (o, parts[i]);
}

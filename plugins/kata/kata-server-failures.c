/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fail-over made visible: each server that fails during a transmission
 * cycle or a synchronization gets one kata.server_failed event naming when
 * ("send" or "sync") and the stage that failed
 * (connect, tls, pin, http, protocol, timeout) and why, even when the next
 * server takes the packages, so that a node answering 503 or garbage for
 * weeks behind a healthy one does not go unnoticed. Failures are counted
 * per server and stage in the spool's shared counters, so `vigil kata
 * status` shows the totals of every process that sent.
 */
#include "kata-engine-private.h"

#include <string.h>

#define PREFIX "server_failed/"

const char *
kata_error_stage (const GError *error)
{
  if (error == NULL || error->domain != KATA_ERROR)
    return "protocol";
  switch ((KataError) error->code)
    {
    case KATA_ERROR_CONNECT:
    case KATA_ERROR_PROXY:       /* the way to the server */
    case KATA_ERROR_SOCKET:      /* the connection broke mid-exchange */
      return "connect";
    case KATA_ERROR_TLS:
      return "tls";
    case KATA_ERROR_PIN_MISMATCH:
      return "pin";
    case KATA_ERROR_TIMEOUT:
      return "timeout";
    case KATA_ERROR_HTTP_STATUS:
      return "http";
    default:
      return "protocol";
    }
}

void
kata_engine_server_failed (KataEngine *engine, const char *server,
                           const char *during, const GError *error)
{
  g_autoptr (JsonObject) p = json_object_new ();
  g_autoptr (JsonObject) delta = json_object_new ();
  const char *stage = kata_error_stage (error);
  g_autofree char *name = g_strconcat (PREFIX, server, "/", stage, NULL);

  json_object_set_int_member (delta, name, 1);
  kata_spool_counters_add (engine->spool, delta, NULL);
  json_object_set_string_member (p, "server", server);
  json_object_set_string_member (p, "stage", stage);
  json_object_set_string_member (p, "reason", error ? error->message : "failed");
  json_object_set_string_member (p, "during", during);
  kata_engine_emit (engine, "kata.server_failed", p);
}

/* {server: {"total": n, stage: n, ...}} from the shared counters. */
JsonObject *
kata_engine_server_failures (KataEngine *engine)
{
  g_autoptr (JsonObject) all = kata_spool_counters (engine->spool);
  g_autoptr (GList) names = json_object_get_members (all);
  JsonObject *out = json_object_new ();

  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;
      const char *slash = strrchr (name, '/');
      g_autofree char *server = NULL;
      gint64 n = json_object_get_int_member (all, name);
      JsonObject *s;

      if (!g_str_has_prefix (name, PREFIX) || slash <= name + strlen (PREFIX))
        continue;
      server = g_strndup (name + strlen (PREFIX), slash - name - strlen (PREFIX));
      if (!json_object_has_member (out, server))
        json_object_set_object_member (out, server, json_object_new ());
      s = json_object_get_object_member (out, server);
      json_object_set_int_member (s, slash + 1, n);
      json_object_set_int_member (s, "total",
                                  json_object_get_int_member_with_default (s, "total", 0) + n);
    }
  return out;
}

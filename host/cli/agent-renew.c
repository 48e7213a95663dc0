/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent renews its device certificate before it ends, over the broker
 * (#13, identity). When fewer than --renew-days (30 by default) are left,
 * it makes a new key (device.key.new, 0600, never sent), asks the console
 * on vigil.dev.<id>.renew with {"csr": PEM} (serve-renew.c answers with a
 * certificate for the same enrollment, so the same broker user), and puts
 * the new files in place: device.crt.new is written next to the new key,
 * then the key and the certificate are renamed over the old ones. A crash
 * between the two renames leaves a new key with the old certificate; the
 * next start finishes the job (agent_renew_recover), as it drops a new key
 * whose certificate never came. The new pair is loaded into the
 * connection's options, for the connections that follow; a refused or
 * unanswered request is tried again a minute later.
 */
#include "agent-renew.h"
#include "fleet-common.h"
#include "fleet-enroll.h"
#include "fleet-jetstream.h"
#include "fleet-pki.h"
#include "fleet-subjects.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>

#define CHECK_EVERY_S     60
#define REQUEST_WAIT_MS   10000

struct _AgentRenew {
  CliAgentIdentity *identity;
  natsOptions      *opts;
  natsConnection   *nc;
  int               days;
  gboolean          renewed;
  guint             timer_id, idle_id;
};

static char *
path_new (const char *path)
{
  return g_strconcat (path, ".new", NULL);
}

void
agent_renew_recover (CliAgentIdentity *identity)
{
  g_autofree char *key_new = path_new (identity->key), *crt_new = path_new (identity->crt);

  if (g_file_test (crt_new, G_FILE_TEST_EXISTS))
    {
      /* The certificate came: finish, in the same order. */
      if (g_file_test (key_new, G_FILE_TEST_EXISTS) && g_rename (key_new, identity->key) != 0)
        g_printerr ("vigil agent: cannot install %s: %s\n", key_new, g_strerror (errno));
      else if (g_rename (crt_new, identity->crt) != 0)
        g_printerr ("vigil agent: cannot install %s: %s\n", crt_new, g_strerror (errno));
      else
        g_printerr ("vigil agent: an interrupted certificate renewal was completed\n");
    }
  else
    g_unlink (key_new);
}

/* Asks the console; (transfer full) the new certificate, or NULL. */
static char *
ask (AgentRenew *r, const char *key_new, GError **error)
{
  g_autofree char *csr = vigil_fleet_device_request_new (r->identity->device_id, key_new, error);
  g_autofree char *subject = NULL, *body = NULL;
  g_autoptr (JsonObject) o = NULL;
  g_autoptr (JsonNode) node = NULL;
  natsMsg *reply = NULL;
  char *cert = NULL;
  natsStatus s;

  if (csr == NULL)
    return NULL;
  o = json_object_new ();
  json_object_set_string_member (o, "csr", csr);
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, o);
  body = json_to_string (node, FALSE);
  subject = vigil_fleet_subject_renew (r->identity->device_id);
  s = natsConnection_RequestString (&reply, r->nc, subject, body, REQUEST_WAIT_MS);
  if (s != NATS_OK)
    {
      vigil_fleet_set_nats_error (error, s, 0, "asking the console to renew the certificate");
      return NULL;
    }
  cert = vigil_fleet_enroll_reply_read (natsMsg_GetData (reply),
                                        (gsize) natsMsg_GetDataLength (reply), error);
  natsMsg_Destroy (reply);
  return cert;
}

static gboolean
renew (AgentRenew *r, GError **error)
{
  g_autofree char *key_new = path_new (r->identity->key);
  g_autofree char *crt_new = path_new (r->identity->crt);
  g_autofree char *cert = ask (r, key_new, error);
  natsStatus s;

  if (cert == NULL)
    {
      g_unlink (key_new);
      return FALSE;
    }
  if (!vigil_fleet_write_private_file (crt_new, cert, -1, error))
    {
      g_unlink (key_new);
      return FALSE;
    }
  if (g_rename (key_new, r->identity->key) != 0 || g_rename (crt_new, r->identity->crt) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   "cannot put the renewed certificate in place: %s", g_strerror (errno));
      return FALSE;
    }
  s = natsOptions_LoadCertificatesChain (r->opts, r->identity->crt, r->identity->key);
  if (s != NATS_OK)
    g_printerr ("vigil agent: the renewed certificate is used from the next start: %s\n",
                natsStatus_GetText (s));
  return TRUE;
}

static gboolean
check (gpointer data)
{
  AgentRenew *r = data;
  g_autoptr (GError) error = NULL;
  gint64 not_after = 0, left;

  r->idle_id = 0;
  if (r->renewed || natsConnection_Status (r->nc) != NATS_CONN_STATUS_CONNECTED)
    return G_SOURCE_CONTINUE;
  if (!vigil_fleet_cert_not_after (r->identity->crt, &not_after, &error))
    {
      g_printerr ("vigil agent: %s\n", error->message);
      return G_SOURCE_CONTINUE;
    }
  left = not_after - g_get_real_time () / G_USEC_PER_SEC;
  if (left >= (gint64) r->days * 86400)
    return G_SOURCE_CONTINUE;
  g_printerr ("vigil agent: the device certificate ends in %" G_GINT64_FORMAT " day(s): "
              "renewing\n", left / 86400);
  if (!renew (r, &error))
    {
      g_printerr ("vigil agent: certificate not renewed (tried again in %d s): %s\n",
                  CHECK_EVERY_S, error->message);
      return G_SOURCE_CONTINUE;
    }
  r->renewed = TRUE;
  if (vigil_fleet_cert_not_after (r->identity->crt, &not_after, NULL))
    g_printerr ("vigil agent: device certificate renewed, valid for %" G_GINT64_FORMAT
                " day(s)\n", (not_after - g_get_real_time () / G_USEC_PER_SEC) / 86400);
  return G_SOURCE_CONTINUE;
}

static gboolean
check_once (gpointer data)
{
  check (data);
  return G_SOURCE_REMOVE;
}

AgentRenew *
agent_renew_new (CliAgentIdentity *identity, natsOptions *opts, natsConnection *nc, int days)
{
  AgentRenew *r = g_new0 (AgentRenew, 1);

  r->identity = identity;
  r->opts = opts;
  r->nc = nc;
  r->days = days;
  r->idle_id = g_idle_add (check_once, r);
  r->timer_id = g_timeout_add_seconds (CHECK_EVERY_S, check, r);
  return r;
}

void
agent_renew_free (AgentRenew *r)
{
  if (r == NULL)
    return;
  if (r->idle_id)
    g_source_remove (r->idle_id);
  g_source_remove (r->timer_id);
  g_free (r);
}

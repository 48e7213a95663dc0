/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The addresses of the agent's broker (see agent-broker.h). The agent's
 * enrollment file names the broker by the host name the console chose
 * (`fleet init --host`). An isolation (respond's network.isolate) keeps
 * open only the management connection, by address, and may cut DNS off
 * (`allow_dns: false`); and at boot DNS may not be up yet. So the agent
 * resolves the name itself when it starts, names the addresses it got to
 * its plugins (the isolation keeps open exactly what the agent dials, and
 * re-applies itself after a reboot without asking DNS), remembers them in
 * its state folder, and gives them to its connection as further servers:
 * an agent started again while isolated, or a reconnection, reaches its
 * broker even when the name does not resolve.
 */
#include "agent-broker.h"
#include "fleet-common.h"
#include "fleet-jetstream.h"

#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#define ADDRESSES_FILE "broker-addresses"
#define MAX_ADDRESSES  16

/* The broker URL's host and port (the URL was checked at enrollment:
 * tls://HOST:PORT). */
static gboolean
url_parts (const char *url, char **host, int *port)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL || g_uri_get_host (uri) == NULL || g_uri_get_port (uri) <= 0)
    return FALSE;
  *host = g_strdup (g_uri_get_host (uri));
  *port = g_uri_get_port (uri);
  return TRUE;
}

/* The addresses @host resolves to now, in the resolver's order, without
 * repeats; NULL when it does not resolve. */
static GStrv
resolve (const char *host)
{
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);

  if (getaddrinfo (host, NULL, &hints, &res) != 0)
    return NULL;
  for (struct addrinfo *ai = res; ai != NULL && seen->len < MAX_ADDRESSES; ai = ai->ai_next)
    {
      char text[NI_MAXHOST];

      /* A scoped (link-local) address is left out: it names an interface
       * and is not a rule's address. */
      if (getnameinfo (ai->ai_addr, ai->ai_addrlen, text, sizeof text, NULL, 0,
                       NI_NUMERICHOST) != 0
          || strchr (text, '%') != NULL
          || g_ptr_array_find_with_equal_func (seen, text, g_str_equal, NULL))
        continue;
      g_ptr_array_add (seen, g_strdup (text));
      g_strv_builder_add (b, text);
    }
  freeaddrinfo (res);
  return seen->len > 0 ? g_strv_builder_end (b) : NULL;
}

/* What an earlier start remembered: one address a line; anything that is
 * not an address is ignored (the file is the agent's own, 0600). */
static GStrv
remembered (const char *path)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  guint n = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && n < MAX_ADDRESSES; i++)
    {
      g_autoptr (GInetAddress) a = g_inet_address_new_from_string (g_strstrip (lines[i]));

      if (a != NULL)
        {
          g_strv_builder_add (b, lines[i]);
          n++;
        }
    }
  return n > 0 ? g_strv_builder_end (b) : NULL;
}

/* "ADDR:PORT", or "[ADDR]:PORT" for IPv6, with @prefix ("" or "tls://"). */
static char *
endpoint (const char *prefix, const char *address, int port)
{
  return strchr (address, ':') != NULL ? g_strdup_printf ("%s[%s]:%d", prefix, address, port)
                                       : g_strdup_printf ("%s%s:%d", prefix, address, port);
}

GStrv
agent_broker_prepare (CliAgentIdentity *identity)
{
  g_autofree char *host = NULL, *path = NULL, *list = NULL;
  g_autoptr (GPtrArray) endpoints = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) addresses = NULL;
  int port = 0;

  if (!url_parts (identity->broker_url, &host, &port))
    return NULL;
  path = g_build_filename (identity->dir, ADDRESSES_FILE, NULL);
  if (g_hostname_is_ip_address (host))
    ;   /* nothing to resolve: the address is the URL's */
  else if ((addresses = resolve (host)) != NULL)
    {
      g_autofree char *joined = g_strjoinv ("\n", addresses);
      g_autofree char *text = g_strconcat (joined, "\n", NULL);
      g_autoptr (GError) error = NULL;

      if (!vigil_fleet_write_private_file (path, text, -1, &error))
        g_printerr ("vigil agent: cannot remember the broker's addresses: %s\n", error->message);
    }
  else if ((addresses = remembered (path)) != NULL)
    {
      g_autofree char *joined = g_strjoinv (", ", addresses);

      g_printerr ("vigil agent: %s does not resolve now; using its addresses from the last "
                  "start (%s)\n", host, joined);
    }
  else
    g_printerr ("vigil agent: %s does not resolve now and no address of it is known yet\n",
                host);

  for (guint i = 0; addresses != NULL && addresses[i] != NULL; i++)
    g_ptr_array_add (endpoints, endpoint ("", addresses[i], port));
  if (endpoints->len == 0)
    g_ptr_array_add (endpoints, endpoint ("", host, port));
  g_ptr_array_add (endpoints, NULL);
  list = g_strjoinv (",", (char **) endpoints->pdata);
  g_setenv ("VIGIL_MANAGEMENT_ENDPOINTS", list, TRUE);
  return g_steal_pointer (&addresses);
}

gboolean
agent_broker_add_servers (CliAgentIdentity *identity, const char *const *addresses,
                          natsOptions *opts, GError **error)
{
  g_autofree char *host = NULL;
  g_autoptr (GPtrArray) servers = g_ptr_array_new_with_free_func (g_free);
  natsStatus s;
  int port = 0;

  if (addresses == NULL || addresses[0] == NULL || !url_parts (identity->broker_url, &host, &port))
    return TRUE;
  for (guint i = 0; addresses[i] != NULL; i++)
    g_ptr_array_add (servers, endpoint ("tls://", addresses[i], port));
  /* Beside the URL (by name): a server that fails is followed by the next. */
  s = natsOptions_SetServers (opts, (const char **) servers->pdata, (int) servers->len);
  if (s == NATS_OK)
    s = natsOptions_SetExpectedHostname (opts, host);
  if (s != NATS_OK)
    {
      vigil_fleet_set_nats_error (error, s, 0, "cannot add the broker's addresses");
      return FALSE;
    }
  return TRUE;
}

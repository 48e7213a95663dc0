/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Proxy selection for one URL from the `general` section's proxy group:
 * "none" connects directly; "auto" takes the proxy from the environment the
 * way curl and most Unix tools do (https_proxy / HTTPS_PROXY for https URLs,
 * http_proxy / HTTP_PROXY for http ones, no_proxy / NO_PROXY honoured);
 * "manual" builds http://[user:password@]address:port from the settings.
 * With bypass_local, local destinations (loopback, link-local, private
 * networks, single-label names) are always reached directly. Only HTTP
 * proxies that speak CONNECT are supported, since every client tunnels TLS.
 */
#include "general-private.h"

#include <string.h>
#include <gio/gio.h>

static gint64
get_int (JsonObject *obj, const char *key, gint64 fallback)
{
  gint64 value;

  return vigil_json_get_int (obj, key, &value) ? value : fallback;
}

/* fc00::/7, the IPv6 unique-local range (GLib only knows fec0::/10). */
static gboolean
is_unique_local (GInetAddress *addr)
{
  const guint8 *bytes = g_inet_address_to_bytes (addr);

  return g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV6
         && (bytes[0] & 0xfe) == 0xfc;
}

gboolean
vh_proxy_host_is_local (const char *host)
{
  g_autoptr (GInetAddress) addr = NULL;
  g_autofree char *lower = NULL;

  if (host == NULL || *host == '\0')
    return FALSE;
  addr = g_inet_address_new_from_string (host);
  if (addr)
    return g_inet_address_get_is_loopback (addr)
           || g_inet_address_get_is_link_local (addr)
           || g_inet_address_get_is_site_local (addr)
           || is_unique_local (addr);

  lower = g_ascii_strdown (host, -1);
  if (g_str_has_suffix (lower, "."))
    lower[strlen (lower) - 1] = '\0';
  return strchr (lower, '.') == NULL
         || g_strcmp0 (lower, "localhost") == 0
         || g_str_has_suffix (lower, ".localhost");
}

static gboolean
no_proxy_entry_matches (const char *entry, const char *host)
{
  g_autofree char *pattern = g_ascii_strdown (entry, -1);
  g_autofree char *name = g_ascii_strdown (host, -1);
  char *colon;

  if (g_strcmp0 (pattern, "*") == 0)
    return TRUE;
  if (strchr (pattern, '/'))
    return vh_address_in_cidr (name, pattern);
  /* "host:port" entries: the port is not part of the decision here. */
  colon = strrchr (pattern, ':');
  if (colon && strchr (pattern, ':') == colon)
    *colon = '\0';
  if (pattern[0] == '*')
    memmove (pattern, pattern + 1, strlen (pattern));
  if (pattern[0] == '.')
    return g_str_has_suffix (name, pattern)
           || g_strcmp0 (name, pattern + 1) == 0;
  if (g_strcmp0 (name, pattern) == 0)
    return TRUE;
  return g_str_has_suffix (name, pattern)
         && name[strlen (name) - strlen (pattern) - 1] == '.';
}

gboolean
vh_proxy_no_proxy_match (const char *no_proxy, const char *host)
{
  g_auto (GStrv) entries = NULL;

  if (no_proxy == NULL || host == NULL)
    return FALSE;
  entries = g_strsplit_set (no_proxy, ", \t", -1);
  for (gsize i = 0; entries[i]; i++)
    if (entries[i][0] != '\0' && no_proxy_entry_matches (entries[i], host))
      return TRUE;
  return FALSE;
}

static const char *
env_pair (VhGetenvFunc getenv_func, const char *lower, const char *upper)
{
  const char *value = getenv_func (lower);

  if (value == NULL || *value == '\0')
    value = getenv_func (upper);
  return value && *value ? value : NULL;
}

/* Checks a proxy URI from the environment; adds http:// when it has no
 * scheme, as curl does. */
static char *
normalize_env_proxy (const char *value, GError **error)
{
  g_autofree char *uri = strstr (value, "://") ? g_strdup (value)
                                               : g_strconcat ("http://", value, NULL);
  g_autoptr (GUri) parsed = g_uri_parse (uri, G_URI_FLAGS_NONE, NULL);

  if (parsed == NULL || g_uri_get_host (parsed) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the proxy in the environment is not a URI (general.proxy.mode "
                   "is auto)");
      return NULL;
    }
  if (g_ascii_strcasecmp (g_uri_get_scheme (parsed), "http") != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "the proxy in the environment uses the scheme %s; only http "
                   "proxies (CONNECT) are supported", g_uri_get_scheme (parsed));
      return NULL;
    }
  return g_steal_pointer (&uri);
}

static char *
select_auto (const char *scheme, const char *host, VhGetenvFunc getenv_func,
             GError **error)
{
  const char *proxy = g_ascii_strcasecmp (scheme, "https") == 0
    ? env_pair (getenv_func, "https_proxy", "HTTPS_PROXY")
    : env_pair (getenv_func, "http_proxy", "HTTP_PROXY");

  if (proxy == NULL)
    return NULL;
  if (vh_proxy_no_proxy_match (env_pair (getenv_func, "no_proxy", "NO_PROXY"), host))
    return NULL;
  return normalize_env_proxy (proxy, error);
}

static char *
select_manual (JsonObject *proxy, GError **error)
{
  const char *address = vigil_json_get_string (proxy, "address");
  const char *user = vigil_json_get_string (proxy, "user");
  const char *password = vigil_json_get_string (proxy, "password");
  gint64 port = get_int (proxy, "port", 8080);
  g_autofree char *userinfo = NULL;
  g_autofree char *host = NULL;

  if (address == NULL || *address == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "general.proxy.address is not set but general.proxy.mode is manual");
      return NULL;
    }
  if (user && *user)
    {
      g_autofree char *u = g_uri_escape_string (user, NULL, FALSE);
      g_autofree char *p = g_uri_escape_string (password ? password : "", NULL, FALSE);

      userinfo = g_strdup_printf ("%s:%s@", u, p);
    }
  host = strchr (address, ':') ? g_strdup_printf ("[%s]", address) : g_strdup (address);
  return g_strdup_printf ("http://%s%s:%" G_GINT64_FORMAT,
                          userinfo ? userinfo : "", host, port);
}

char *
vh_proxy_select (JsonObject *proxy, const char *url, VhGetenvFunc getenv_func,
                 GError **error)
{
  const char *mode = vigil_json_get_string (proxy, "mode");
  g_autoptr (GUri) parsed = NULL;
  g_autoptr (GError) local = NULL;

  g_return_val_if_fail (url != NULL, NULL);

  if (mode == NULL || g_strcmp0 (mode, "none") == 0)
    return NULL;
  parsed = g_uri_parse (url, G_URI_FLAGS_NONE, &local);
  if (parsed == NULL || g_uri_get_host (parsed) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "cannot choose a proxy for %s: not an absolute URI", url);
      return NULL;
    }
  if (vigil_json_get_bool (proxy, "bypass_local", FALSE) && vh_proxy_host_is_local (g_uri_get_host (parsed)))
    return NULL;
  if (g_strcmp0 (mode, "auto") == 0)
    return select_auto (g_uri_get_scheme (parsed), g_uri_get_host (parsed),
                        getenv_func ? getenv_func : g_getenv, error);
  if (g_strcmp0 (mode, "manual") == 0)
    return select_manual (proxy, error);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "general.proxy.mode %s is not one of none, auto, manual", mode);
  return NULL;
}

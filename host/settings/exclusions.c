/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * EDR telemetry exclusions: whether an event is kept out of telemetry by the
 * `general` section's telemetry_exclusions group, and the checks of each
 * rule for policy validation. Process rules (image path glob, SHA-256,
 * command-line regular expression, user; every criterion a rule sets must
 * match) apply to process.* events and to network.* events of that process;
 * network rules (address or CIDR, port, direction) apply to network.*
 * events. "Optimize the amount of telemetry" drops the network events of
 * SMB (ports 139, 445) and of the agent's own process; as the product
 * documentation says, that optimization also applies whenever exclusions are
 * not in use, whatever the optimize switch says.
 */
#include "general-private.h"

#include <string.h>
#include <gio/gio.h>

static const char *const process_keys[] = { "image", "sha256", "cmdline", "user", "description", NULL };
static const char *const network_keys[] = { "address", "port", "direction", "description", NULL };

gboolean
vh_address_in_cidr (const char *address, const char *cidr)
{
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (address);
  g_autoptr (GInetAddressMask) mask = NULL;
  g_autoptr (GInetAddress) single = NULL;

  if (addr == NULL || cidr == NULL)
    return FALSE;
  if (strchr (cidr, '/') == NULL)
    {
      single = g_inet_address_new_from_string (cidr);
      return single && g_inet_address_equal (addr, single);
    }
  mask = g_inet_address_mask_new_from_string (cidr, NULL);
  return mask && g_inet_address_mask_matches (mask, addr);
}

/* ------------------------------------------------------------------ */
/* Matching                                                            */
/* ------------------------------------------------------------------ */

/* Compiled command-line patterns, shared by all threads: a telemetry
 * stream asks about the same few rules for every process start. Bounded;
 * a pattern that does not compile is cached as such (NULL never matches). */
#define REGEX_CACHE_MAX 1024

static void
regex_unref0 (gpointer re)
{
  if (re)
    g_regex_unref (re);
}

static GRegex *
regex_for (const char *pattern)
{
  static GMutex lock;
  static GHashTable *cache;
  GRegex *re;

  g_mutex_lock (&lock);
  if (cache == NULL || g_hash_table_size (cache) >= REGEX_CACHE_MAX)
    {
      g_clear_pointer (&cache, g_hash_table_unref);
      cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                     regex_unref0);
    }
  if (!g_hash_table_lookup_extended (cache, pattern, NULL, (gpointer *) &re))
    {
      re = g_regex_new (pattern, G_REGEX_OPTIMIZE, G_REGEX_MATCH_DEFAULT, NULL);
      g_hash_table_insert (cache, g_strdup (pattern), re);
    }
  re = re ? g_regex_ref (re) : NULL;
  g_mutex_unlock (&lock);
  return re;
}

static gboolean
process_rule_matches (JsonObject *rule, JsonObject *payload)
{
  const char *image = vigil_json_get_string (rule, "image");
  const char *sha256 = vigil_json_get_string (rule, "sha256");
  const char *cmdline = vigil_json_get_string (rule, "cmdline");
  const char *user = vigil_json_get_string (rule, "user");
  const char *value;

  /* A rule without criteria would exclude everything; validation refuses
   * it, and matching ignores it in case one slipped through. */
  if (!image && !sha256 && !cmdline && !user)
    return FALSE;
  if (image && (!(value = vigil_json_get_string (payload, "image"))
                || !g_pattern_match_simple (image, value)))
    return FALSE;
  if (sha256 && (!(value = vigil_json_get_string (payload, "sha256"))
                 || g_ascii_strcasecmp (sha256, value) != 0))
    return FALSE;
  if (user && g_strcmp0 (user, vigil_json_get_string (payload, "user")) != 0)
    return FALSE;
  if (cmdline)
    {
      g_autoptr (GRegex) re = regex_for (cmdline);

      value = vigil_json_get_string (payload, "cmdline");
      if (re == NULL || value == NULL
          || !g_regex_match (re, value, G_REGEX_MATCH_DEFAULT, NULL))
        return FALSE;
    }
  return TRUE;
}

/* The port of the service: the remote one for outbound connections, the
 * local one for inbound connections. */
static gboolean
service_port (JsonObject *payload, gint64 *port)
{
  gboolean inbound = g_strcmp0 (vigil_json_get_string (payload, "direction"), "inbound") == 0;

  return vigil_json_get_int (payload, inbound ? "local_port" : "remote_port", port);
}

static gboolean
network_rule_matches (JsonObject *rule, JsonObject *payload)
{
  const char *address = vigil_json_get_string (rule, "address");
  const char *direction = vigil_json_get_string (rule, "direction");
  gint64 port = 0, event_port = 0;
  gboolean has_port = vigil_json_get_int (rule, "port", &port);

  if (!address && !has_port)
    return FALSE;
  if (address && !vh_address_in_cidr (vigil_json_get_string (payload, "remote_address"), address))
    return FALSE;
  if (has_port && (!service_port (payload, &event_port) || event_port != port))
    return FALSE;
  if (direction && g_strcmp0 (direction, "any") != 0
      && g_strcmp0 (direction, vigil_json_get_string (payload, "direction")) != 0)
    return FALSE;
  return TRUE;
}

static gboolean
any_rule_matches (JsonArray *rules, JsonObject *payload,
                  gboolean (*matches) (JsonObject *, JsonObject *))
{
  guint n = rules ? json_array_get_length (rules) : 0;

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (rules, i);

      if (JSON_NODE_HOLDS_OBJECT (node) && matches (json_node_get_object (node), payload))
        return TRUE;
    }
  return FALSE;
}

static gboolean
optimized_away (JsonObject *payload)
{
  const char *image = vigil_json_get_string (payload, "image");
  g_autofree char *base = image ? g_path_get_basename (image) : NULL;
  gint64 lport = 0, rport = 0;

  vigil_json_get_int (payload, "local_port", &lport);
  vigil_json_get_int (payload, "remote_port", &rport);
  if (lport == 445 || lport == 139 || rport == 445 || rport == 139)
    return TRUE;
  return g_strcmp0 (base, "vigil") == 0;
}

gboolean
vh_exclusions_match (JsonObject *group, const char *type, JsonObject *payload)
{
  gboolean use = vigil_json_get_bool (group, "use_exclusions", FALSE);
  gboolean optimize = vigil_json_get_bool (group, "optimize_telemetry", TRUE);
  gboolean is_process = g_str_has_prefix (type, "process.");
  gboolean is_network = g_str_has_prefix (type, "network.");

  if (payload == NULL || (!is_process && !is_network))
    return FALSE;
  if (is_network && (optimize || !use) && optimized_away (payload))
    return TRUE;
  if (!use)
    return FALSE;
  if (any_rule_matches (vigil_json_get_array (group, "processes"), payload, process_rule_matches))
    return TRUE;
  return is_network
         && any_rule_matches (vigil_json_get_array (group, "networks"), payload, network_rule_matches);
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

static void
reportf (VhReportFunc func, gpointer report, const char *path, const char *key,
         const char *format, ...) G_GNUC_PRINTF (5, 6);

static void
reportf (VhReportFunc func, gpointer report, const char *path, const char *key,
         const char *format, ...)
{
  g_autofree char *message = NULL;
  g_autofree char *full = key ? g_strdup_printf ("%s.%s", path, key) : g_strdup (path);
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  func (report, VIGIL_SEVERITY_ERROR, full, message);
}

static gboolean
check_keys (JsonObject *rule, const char *const *allowed, const char *path,
            VhReportFunc func, gpointer report)
{
  g_autoptr (GList) members = json_object_get_members (rule);
  gboolean ok = TRUE;

  for (GList *l = members; l; l = l->next)
    {
      JsonNode *node = json_object_get_member (rule, l->data);

      if (!g_strv_contains (allowed, l->data))
        {
          g_autofree char *list = g_strjoinv (", ", (char **) allowed);

          reportf (func, report, path, l->data, "unknown key (expected one of %s)", list);
          ok = FALSE;
        }
      else if (g_strcmp0 (l->data, "port") != 0
               && (!JSON_NODE_HOLDS_VALUE (node)
                   || json_node_get_value_type (node) != G_TYPE_STRING))
        {
          reportf (func, report, path, l->data, "must be a string");
          ok = FALSE;
        }
    }
  return ok;
}

static gboolean
is_sha256 (const char *s)
{
  if (strlen (s) != 64)
    return FALSE;
  for (; *s; s++)
    if (!g_ascii_isxdigit (*s))
      return FALSE;
  return TRUE;
}

void
vh_exclusions_check_process (JsonObject *rule, const char *path,
                             VhReportFunc func, gpointer report)
{
  const char *sha256, *cmdline;

  if (!check_keys (rule, process_keys, path, func, report))
    return;
  if (!vigil_json_get_string (rule, "image") && !vigil_json_get_string (rule, "sha256")
      && !vigil_json_get_string (rule, "cmdline") && !vigil_json_get_string (rule, "user"))
    reportf (func, report, path, NULL,
             "the rule sets no criterion (image, sha256, cmdline or user)");
  if ((sha256 = vigil_json_get_string (rule, "sha256")) && !is_sha256 (sha256))
    reportf (func, report, path, "sha256", "'%s' is not 64 hexadecimal digits", sha256);
  if ((cmdline = vigil_json_get_string (rule, "cmdline")))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GRegex) re = g_regex_new (cmdline, G_REGEX_DEFAULT, G_REGEX_MATCH_DEFAULT, &error);

      if (re == NULL)
        reportf (func, report, path, "cmdline", "not a valid regular expression: %s",
                 error->message);
    }
  if (vigil_json_get_string (rule, "image") && vigil_json_get_string (rule, "image")[0] != '/'
      && vigil_json_get_string (rule, "image")[0] != '*')
    reportf (func, report, path, "image",
             "'%s' is neither an absolute path nor a pattern starting with *",
             vigil_json_get_string (rule, "image"));
}

void
vh_exclusions_check_network (JsonObject *rule, const char *path,
                             VhReportFunc func, gpointer report)
{
  const char *address = vigil_json_get_string (rule, "address");
  const char *direction = vigil_json_get_string (rule, "direction");
  JsonNode *port_node = json_object_get_member (rule, "port");
  gint64 port = 0;

  if (!check_keys (rule, network_keys, path, func, report))
    return;
  if (port_node && !vigil_json_get_int (rule, "port", &port))
    reportf (func, report, path, "port", "must be an integer");
  else if (port_node && (port < 1 || port > 65535))
    reportf (func, report, path, "port", "%" G_GINT64_FORMAT " is out of range 1–65535", port);
  if (!address && !port_node)
    reportf (func, report, path, NULL, "the rule sets neither address nor port");
  if (address)
    {
      g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (address);
      g_autoptr (GInetAddressMask) mask = strchr (address, '/')
        ? g_inet_address_mask_new_from_string (address, NULL) : NULL;

      if (addr == NULL && mask == NULL)
        reportf (func, report, path, "address",
                 "'%s' is not an IP address or a network in CIDR form", address);
    }
  if (direction && g_strcmp0 (direction, "inbound") != 0
      && g_strcmp0 (direction, "outbound") != 0 && g_strcmp0 (direction, "any") != 0)
    reportf (func, report, path, "direction",
             "'%s' is not one of inbound, outbound, any", direction);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The isolation ruleset. Two base chains at priority -10 with policy drop
 * (a drop is final across tables, so no other table's accept reopens the
 * device), allowing only: loopback; IPv6 neighbour discovery (without it
 * no IPv6 peer is reachable, allowed ones included); DNS and DHCP when the
 * policy allows them; and each allowed flow in both chains, matched by
 * address, protocol and port in the direction it was opened, so replies
 * pass without relying on connection tracking. What the device itself
 * sends is rejected rather than dropped (a TCP reset, or ICMP
 * "administratively prohibited"), so its programs fail at once with
 * "connection refused" instead of hanging; what comes in is dropped
 * silently.
 */
#include "resp-isolation.h"

#include <string.h>

void
resp_allow_free (RespAllow *a)
{
  if (a == NULL)
    return;
  g_clear_object (&a->remote);
  g_free (a);
}

void
resp_isolation_free (RespIsolation *iso)
{
  if (iso == NULL)
    return;
  g_clear_pointer (&iso->allows, g_ptr_array_unref);
  g_free (iso);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RespAllow, resp_allow_free)

RespAllow *
resp_allow_parse (JsonObject *o, const char *where, GError **error)
{
  g_autoptr (RespAllow) a = g_new0 (RespAllow, 1);
  const char *address = NULL, *proto = "any", *dir = "both";
  gint64 port = 0;

  JsonNode *n;

  if ((n = json_object_get_member (o, "address")) != NULL && !JSON_NODE_HOLDS_NULL (n))
    address = json_node_get_string (n);
  if ((n = json_object_get_member (o, "protocol")) != NULL && !JSON_NODE_HOLDS_NULL (n))
    proto = json_node_get_string (n);
  if ((n = json_object_get_member (o, "direction")) != NULL && !JSON_NODE_HOLDS_NULL (n))
    dir = json_node_get_string (n);
  if ((n = json_object_get_member (o, "port")) != NULL && !JSON_NODE_HOLDS_NULL (n))
    {
      if (json_node_get_value_type (n) != G_TYPE_INT64 || (port = json_node_get_int (n)) < 1
          || port > 65535)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s.port: must be a port number, 1 to 65535", where);
          return NULL;
        }
    }
  {
    static const char *const known[] = { "address", "port", "protocol", "direction", NULL };
    g_autoptr (GList) members = json_object_get_members (o);

    for (GList *it = members; it != NULL; it = it->next)
      if (!g_strv_contains (known, it->data))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s: unknown member '%s' (address, port, protocol, direction)", where,
                       (const char *) it->data);
          return NULL;
        }
  }
  if (address == NULL && port == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: give an address, a port or both (an exclusion of everything is no "
                   "isolation)", where);
      return NULL;
    }
  if (address != NULL
      && (a->remote = g_inet_address_mask_new_from_string (address, NULL)) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s.address: '%s' is not an IP address or CIDR block", where, address);
      return NULL;
    }
  if (proto == NULL || (strcmp (proto, "tcp") != 0 && strcmp (proto, "udp") != 0
                        && strcmp (proto, "any") != 0))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s.protocol: must be tcp, udp or any", where);
      return NULL;
    }
  if (port != 0 || strcmp (proto, "any") != 0)
    g_strlcpy (a->proto, strcmp (proto, "any") == 0 ? "" : proto, sizeof a->proto);
  if (dir == NULL || !(strcmp (dir, "both") == 0 || strcmp (dir, "inbound") == 0
                       || strcmp (dir, "outbound") == 0))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s.direction: must be inbound, outbound or both", where);
      return NULL;
    }
  a->direction = strcmp (dir, "inbound") == 0 ? RESP_DIR_INBOUND
                 : strcmp (dir, "outbound") == 0 ? RESP_DIR_OUTBOUND : RESP_DIR_BOTH;
  a->port = (guint) port;
  return g_steal_pointer (&a);
}

static gboolean
add_endpoint (RespIsolation *iso, const char *endpoint, GError **error)
{
  g_autoptr (GSocketConnectable) na = g_network_address_parse (endpoint, 0, error);
  g_autoptr (GResolver) resolver = g_resolver_get_default ();
  guint16 port;
  GList *addresses;

  if (na == NULL)
    return FALSE;
  port = g_network_address_get_port (G_NETWORK_ADDRESS (na));
  if (port == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "management endpoint '%s' has no port", endpoint);
      return FALSE;
    }
  addresses = g_resolver_lookup_by_name (resolver, g_network_address_get_hostname (G_NETWORK_ADDRESS (na)),
                                         NULL, error);
  if (addresses == NULL)
    return FALSE;
  for (GList *l = addresses; l != NULL; l = l->next)
    {
      RespAllow *a = g_new0 (RespAllow, 1);

      a->remote = g_inet_address_mask_new (l->data,
                                           g_inet_address_get_family (l->data) == G_SOCKET_FAMILY_IPV4
                                             ? 32 : 128, NULL);
      a->port = port;
      g_strlcpy (a->proto, "tcp", sizeof a->proto);
      a->direction = RESP_DIR_OUTBOUND;
      g_ptr_array_add (iso->allows, a);
    }
  g_resolver_free_addresses (addresses);
  return TRUE;
}

gboolean
resp_isolation_add_management (RespIsolation *iso, const char *endpoints, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (endpoints, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_strstrip (parts[i]);
      if (*parts[i] != '\0' && !add_endpoint (iso, parts[i], error))
        return FALSE;
    }
  return TRUE;
}

/* "ip daddr 10.0.0.0/8 tcp dport 443" for one side of a flow. */
static void
match (GString *s, const RespAllow *a, gboolean remote_is_dst, gboolean port_is_dst)
{
  if (a->remote != NULL)
    {
      g_autofree char *mask = g_inet_address_mask_to_string (a->remote);

      g_string_append_printf (s, " %s %s %s",
                              g_inet_address_mask_get_family (a->remote) == G_SOCKET_FAMILY_IPV4
                                ? "ip" : "ip6",
                              remote_is_dst ? "daddr" : "saddr", mask);
    }
  if (a->port != 0)
    {
      if (a->proto[0] != '\0')
        g_string_append_printf (s, " %s %s %u", a->proto, port_is_dst ? "dport" : "sport", a->port);
      else
        g_string_append_printf (s, " meta l4proto { tcp, udp } th %s %u",
                                port_is_dst ? "dport" : "sport", a->port);
    }
  else if (a->proto[0] != '\0')
    g_string_append_printf (s, " meta l4proto %s", a->proto);
  g_string_append (s, " accept\n");
}

char *
resp_isolation_script (const RespIsolation *iso)
{
  GString *in = g_string_new (NULL), *out = g_string_new (NULL);
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; i < iso->allows->len; i++)
    {
      const RespAllow *a = iso->allows->pdata[i];

      if (a->direction != RESP_DIR_INBOUND)
        {
          /* We open it: out to the remote port, back from it. */
          g_string_append (out, "    ");
          match (out, a, TRUE, TRUE);
          g_string_append (in, "    ");
          match (in, a, FALSE, FALSE);
        }
      if (a->direction != RESP_DIR_OUTBOUND)
        {
          /* They open it: in to our port, back to them. */
          g_string_append (in, "    ");
          match (in, a, FALSE, TRUE);
          g_string_append (out, "    ");
          match (out, a, TRUE, FALSE);
        }
    }
  if (iso->allow_dns)
    {
      g_string_append (out, "    meta l4proto { tcp, udp } th dport 53 accept\n");
      g_string_append (in, "    meta l4proto { tcp, udp } th sport 53 accept\n");
    }
  if (iso->allow_dhcp)
    {
      g_string_append (out, "    udp sport 68 udp dport 67 accept\n    udp sport 546 udp dport 547 accept\n");
      g_string_append (in, "    udp sport 67 udp dport 68 accept\n    udp sport 547 udp dport 546 accept\n");
    }
  /* Create then delete makes the replacement one transaction whether or
   * not the table exists. */
  g_string_append_printf (s, "table inet %s\ndelete table inet %s\n", RESP_NFT_TABLE, RESP_NFT_TABLE);
  g_string_append_printf (s, "table inet %s {\n", RESP_NFT_TABLE);
  g_string_append (s, "  chain input {\n    type filter hook input priority -10; policy drop;\n"
                      "    iif \"lo\" accept\n"
                      "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept\n");
  g_string_append (s, in->str);
  g_string_append (s, "  }\n  chain output {\n    type filter hook output priority -10; policy drop;\n"
                      "    oif \"lo\" accept\n"
                      "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept\n");
  g_string_append (s, out->str);
  g_string_append (s, "    meta l4proto tcp reject with tcp reset\n"
                      "    reject with icmpx admin-prohibited\n");
  g_string_append (s, "  }\n}\n");
  g_string_free (in, TRUE);
  g_string_free (out, TRUE);
  return g_strdup (s->str);
}

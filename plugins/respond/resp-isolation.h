/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Network isolation (network.isolate / network.release): the rules, built
 * from a parsed and checked description so that nothing typed by an admin
 * reaches nftables as text it did not produce (resp-isolation-rules.c),
 * and their application in a table of Vigil's own, `inet vigil_isolation`,
 * through libnftables (resp-nft.c). No other table is ever touched.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define RESP_NFT_TABLE "vigil_isolation"

typedef enum {
  RESP_DIR_BOTH = 0,
  RESP_DIR_INBOUND,   /* the remote side connects to a local port */
  RESP_DIR_OUTBOUND,  /* this device connects to the remote port */
} RespDirection;

typedef struct {
  GInetAddressMask *remote;   /* NULL: any address */
  guint             port;     /* 0: any port */
  char              proto[4]; /* "tcp", "udp" or "" (both) */
  RespDirection     direction;
} RespAllow;

typedef struct {
  gboolean   allow_dns;
  gboolean   allow_dhcp;
  GPtrArray *allows;          /* of RespAllow* (admin exclusions + management) */
} RespIsolation;

void           resp_isolation_free (RespIsolation *iso);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RespIsolation, resp_isolation_free)

/* Parses one exclusion {"address","port","protocol","direction"}; @where
 * names it in errors ("params.exclusions[2]"). */
RespAllow     *resp_allow_parse (JsonObject *o, const char *where, GError **error);
void           resp_allow_free (RespAllow *a);
/* Management endpoints "HOST:PORT[,HOST:PORT...]" (an address literal or
 * a name resolved now): outbound TCP to each address. */
gboolean       resp_isolation_add_management (RespIsolation *iso, const char *endpoints,
                                              GError **error);
/* The whole nft script that replaces the table atomically. */
char          *resp_isolation_script (const RespIsolation *iso);

/* Runs an nft script in one transaction; FALSE with nft's own message. */
gboolean       resp_nft_run (const char *script, GError **error);
gboolean       resp_nft_apply (const RespIsolation *iso, GError **error);
gboolean       resp_nft_remove (GError **error);
gboolean       resp_nft_present (void);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The inventory layer of libvigil-host (host/inventory/), above registry:
 * the administration group tree and the devices in it, with each device's
 * local settings, kept in the store. It sees base.h and registry.h only;
 * docs/architecture.md has the order.
 */
#pragma once

#include "registry/registry.h"

G_BEGIN_DECLS

/* Applies the inventory's migrations; the api layer calls it at start. */
gboolean    vh_inventory_init         (VigilHost *host, GError **error);

/* A device object: id, name, group, group_path, root (or null),
 * out_of_office, this_machine. Returns: (transfer full), NULL with NOT_FOUND. */
JsonObject *vh_inventory_device        (VigilHost *host, const char *device_id,
                                        GError **error);
gboolean    vh_inventory_group_exists  (VigilHost *host, const char *group_id);
/* (transfer full) device ids of the group and its subgroups, sorted. */
GPtrArray  *vh_inventory_group_devices (VigilHost *host, const char *group_id,
                                        GError **error);

gboolean    vh_inventory_id_valid     (const char *id);
gboolean    vh_inventory_group_add    (VigilHost *host, const char *id, const char *name,
                                       const char *parent, GError **error);
gboolean    vh_inventory_group_move   (VigilHost *host, const char *id,
                                       const char *parent, GError **error);
gboolean    vh_inventory_group_remove (VigilHost *host, const char *id, GError **error);
/* (transfer full) [{id, name, parent}] ordered by id. */
JsonArray  *vh_inventory_groups       (VigilHost *host, GError **error);
/* (transfer full) group ids from the root down to @group_id. */
GPtrArray  *vh_inventory_group_chain  (VigilHost *host, const char *group_id,
                                       GError **error);
gboolean    vh_inventory_device_add   (VigilHost *host, const char *id, const char *name,
                                       const char *group, const char *root,
                                       GError **error);
gboolean    vh_inventory_device_move  (VigilHost *host, const char *id,
                                       const char *group, GError **error);
gboolean    vh_inventory_device_remove (VigilHost *host, const char *id, GError **error);
gboolean    vh_inventory_device_set_out_of_office (VigilHost *host, const char *id,
                                                   gboolean out_of_office, GError **error);
/* Local settings: section -> group -> key -> value. */
gboolean    vh_inventory_device_set_local (VigilHost *host, const char *id,
                                           JsonObject *settings, GError **error);
JsonObject *vh_inventory_device_local (VigilHost *host, const char *id, GError **error);
/* This machine's device: (transfer full) its id, or NULL when the store
 * records none (then @error is set only on a store error). */
char       *vh_inventory_machine      (VigilHost *host, GError **error);
/* Records @id as this machine's device (guarded: asks the current password
 * when the change weakens this machine's password protection). */
gboolean    vh_inventory_set_machine  (VigilHost *host, const char *id, GError **error);
/* (transfer full) device objects of @group_id's subtree (all when NULL). */
JsonArray  *vh_inventory_devices      (VigilHost *host, const char *group_id,
                                       GError **error);
/* What a device's effective settings depend on besides the policies:
 * its group, out-of-office state and local settings (as stored, JSON). */
typedef struct {
  char     *id;
  char     *group;
  gboolean  out_of_office;
  char     *local;
} VhDeviceProfile;
/* (transfer full) the profile of every device (VhDeviceProfile*), read in
 * one query; for a console that computes many devices' settings. */
GPtrArray  *vh_inventory_device_profiles (VigilHost *host, GError **error);

/* ---- device-agents.c: each device's agent, for the fleet (#13) ------- */

gboolean    vh_device_agents_init     (VigilHost *host, GError **error);
/* Records a pending enrollment (replacing any earlier state). */
gboolean    vh_device_agent_begin     (VigilHost *host, const char *id,
                                       const char *enrollment,
                                       const char *token_sha256, gint64 expires,
                                       GError **error);
/* Pending -> enrolled, once; NOT_FOUND when no such pending enrollment. */
gboolean    vh_device_agent_complete  (VigilHost *host, const char *id,
                                       const char *enrollment, GError **error);
gboolean    vh_device_agent_revoke    (VigilHost *host, const char *id, GError **error);
/* Deletes the record (the device left the inventory); none is no error. */
gboolean    vh_device_agent_forget    (VigilHost *host, const char *id, GError **error);
/* Checks and stores an enrolled device's heartbeat (untrusted). */
gboolean    vh_device_agent_heartbeat (VigilHost *host, const char *id,
                                       JsonObject *heartbeat, GError **error);
/* (transfer full) the agent record, NULL with NOT_FOUND. */
JsonObject *vh_device_agent           (VigilHost *host, const char *id, GError **error);
/* (transfer full) every agent record, by device id. */
JsonArray  *vh_device_agents          (VigilHost *host, GError **error);

G_END_DECLS

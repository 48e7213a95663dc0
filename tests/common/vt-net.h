/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the network isolation tests share (plugins/respond's, in one
 * machine's namespaces, and the fleet's, across a veth): a command of the
 * ip and nft tools, a TCP connection made from a given network namespace,
 * and what its outcome must be. Nothing here waits: an isolation rejects
 * what the device sends, so a cut connection fails at once.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs @command with /bin/sh; fails the test unless it exits 0. */
void vt_net_sh          (const char *command);
/* Connects over TCP to the IPv4 @address:@port from the network namespace
 * @netns (an open namespace file, or -1: the caller's). Returns 0 with the
 * connected socket in *@fd, or the errno of the attempt. */
int  vt_net_connect     (int netns, const char *address, guint16 port, int *fd);
/* Fails the test unless @err, the outcome of a probe of @address:@port
 * (0: answered), says it answered. */
void vt_net_assert_open (int err, const char *address, guint16 port);
/* Fails the test unless @err says it was refused (ECONNREFUSED): cut off
 * by a rejecting isolation, at once. */
void vt_net_assert_cut  (int err, const char *address, guint16 port);

G_END_DECLS

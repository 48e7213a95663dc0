/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A whole deployment for a fleet test, made through the fleet library as
 * the console will make it: a CA, the broker's and the console's
 * certificates, devices enrolled from their own requests, the broker's
 * configuration, a running broker (vt-broker.h), and the console
 * connected with the JetStream layout and each device's consumers in
 * place. Clients record the broker's asynchronous errors (permission
 * violations) and their closing, so a test waits for those as conditions.
 */
#pragma once

#include "fleet-pki.h"
#include "vt-broker.h"

#include <nats/nats.h>

G_BEGIN_DECLS

typedef struct {
  natsConnection *nc;
  jsCtx          *js;
  GMutex          lock;
  GCond           cond;
  GPtrArray      *errors;  /* char *, the broker's error texts, under lock */
  gboolean        closed;
} VtClient;

typedef struct {
  char      *dir;
  char      *ca_crt, *ca_key, *server_crt, *server_key;
  char      *console_crt, *console_key, *config;
  VigilFleetCa *ca;
  GPtrArray *devices;   /* char *, the enrolled ids the broker lets in */
  GHashTable *enrollments; /* id -> its current enrollment id */
  GHashTable *pending;     /* id -> VigilFleetPendingEnrollment *: ids being
                            enrolled, which only their bootstrap serves */
  VtBroker  *broker;
  VtClient  *console;
} VtFleet;

/* Builds the deployment with @device_ids (NULL-terminated) enrolled and
 * starts it. */
void      vt_fleet_setup    (VtFleet *fleet, const char *const *device_ids);
/* Closes the console, stops the broker, removes the folder. */
void      vt_fleet_teardown (VtFleet *fleet);
/* Starts enrolling @id as the console will: the enrollment file is
 * devices/<id>.enroll, the console's record in fleet->pending; the next
 * vt_fleet_write_config() lets in only the file's bootstrap identity. */
void      vt_fleet_add_pending (VtFleet *fleet, const char *id);
/* Enrolls @id (new key, request and certificate, over the old files; the
 * pending enrollment's id, or a new one) and lets it in at the next
 * vt_fleet_write_config(). */
void      vt_fleet_enroll   (VtFleet *fleet, const char *id);
/* Rewrites the broker's configuration from fleet->devices. */
void      vt_fleet_write_config (VtFleet *fleet);
/* The enrolled device's certificate and key files. */
char     *vt_fleet_device_file (VtFleet *fleet, const char *id, const char *ext);

/* Connects as the device @id (its own credentials) or, with NULL, as the
 * console; asserts success. Reconnection is off, so a connection the
 * broker closes stays closed. */
VtClient *vt_client_connect (VtFleet *fleet, const char *id);
/* Tries to connect with these files (@cert NULL: no client certificate)
 * to @url (NULL: the broker's own, tls://127.0.0.1:PORT). */
natsStatus vt_client_try (VtFleet *fleet, const char *url, const char *cert,
                          const char *key, const char *id, VtClient **client);
/* Tries to connect with @id's enrollment file (vt_fleet_add_pending). */
natsStatus vt_client_try_bootstrap (VtFleet *fleet, const char *id,
                                    VtClient **client);
void      vt_client_free    (VtClient *client);
/* Waits until the broker reported an error containing @needle. */
void      vt_client_wait_error  (VtClient *client, const char *needle);
/* Waits until the connection is closed. */
void      vt_client_wait_closed (VtClient *client);

/* The devices every fixture enrolls: dev-a, dev-b, dev-c. */
void      vt_fleet_fixture_setup    (VtFleet *fleet, gconstpointer data);
void      vt_fleet_fixture_teardown (VtFleet *fleet, gconstpointer data);

/* Rewrites the configuration and has the broker reload it; waits for the
 * broker to say it did. */
void      vt_fleet_reload (VtFleet *fleet);
/* Publishes a run for @id as the console, with @run_id as message id;
 * asserts it was (or, with @expect_duplicate, was not) stored anew. */
void      vt_fleet_publish_run (VtFleet *fleet, const char *id,
                                const char *run_id, const char *body,
                                gboolean expect_duplicate);
/* Messages in @stream, on subjects matching @subject_filter (or all). */
uint64_t  vt_fleet_stream_msgs (VtFleet *fleet, const char *stream,
                                const char *subject_filter);
/* Runs of @id not yet acknowledged (pending and in flight). */
uint64_t  vt_fleet_consumer_pending (VtFleet *fleet, const char *id);
/* Fetches one message from @sub, acknowledges it, destroys @sub;
 * returns "SUBJECT BODY". */
char     *vt_fetch_one     (natsSubscription *sub);
/* Fetches one run as device @id through its consumer; returns its body. */
char     *vt_fetch_one_run (VtClient *client, const char *id);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The change guard and the audit trail, for the layers below settings.
 * Password protection is defined by the settings layer (the `general`
 * section), but the changes that can weaken it belong to the layers below:
 * policies (apply, remove) and the inventory (the machine's device, its
 * group, its state, its local settings). Those layers cannot call up, so
 * the settings layer installs its functions here and the owner of a change
 * brackets it, inside its own transaction: vh_guard_begin takes a snapshot
 * of this machine's protection, the change is made, vh_guard_check takes
 * another and lets the settings layer decide (and ask the current password
 * when the change weakens protection); the caller commits only on TRUE,
 * then calls vh_guard_finish, which records a refusal (host.password_refused)
 * after the rollback, so that the record is not rolled back with the change.
 * Audit events (host.*) go the same way: the tasks layer, which owns the
 * event log, installs the function that records them.
 */
#include "registry.h"

#include <unistd.h>

struct _VhGuard {
  VigilHost    *host;
  VhProtection *before;
  char         *refused_change;  /* set when the check refused the change */
  char         *refused_reason;
};

typedef struct {
  VhGuardFuncs guard;
  gboolean     has_guard;
  VhAuditFunc  audit;
  GThread     *trusted;   /* the thread whose changes need no password */
} Hooks;

/* Kept in the registry (freed with it), made on first use. */
static Hooks *
hooks (VigilHost *host)
{
  gpointer *slot = vh_registry_hook_slot (host);

  if (*slot == NULL)
    *slot = g_new0 (Hooks, 1);
  return *slot;
}

void
vh_registry_set_guard (VigilHost *host, const VhGuardFuncs *funcs)
{
  Hooks *h = hooks (host);

  h->has_guard = funcs != NULL;
  if (funcs)
    h->guard = *funcs;
}

void
vh_registry_set_audit_func (VigilHost *host, VhAuditFunc func)
{
  hooks (host)->audit = func;
}

VhGuard *
vh_guard_begin (VigilHost *host, GError **error)
{
  Hooks *h = hooks (host);
  VhGuard *guard = g_new0 (VhGuard, 1);
  g_autoptr (GError) local = NULL;

  guard->host = host;
  /* Without the settings layer there is no `general` section, so no
   * protection to weaken. */
  if (!h->has_guard)
    return guard;
  guard->before = h->guard.snapshot (host, &local);
  if (guard->before == NULL)
    {
      /* Fail closed: a change is refused when it cannot be told harmless. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "cannot read this machine's password protection before the "
                   "change, so the change is refused: %s", local->message);
      g_free (guard);
      return NULL;
    }
  return guard;
}

gboolean
vh_guard_check (VhGuard *guard, const char *change, GError **error)
{
  Hooks *h;
  VhProtection *after;
  g_autoptr (GError) local = NULL;
  gboolean ok;

  g_return_val_if_fail (guard != NULL && change != NULL, FALSE);
  h = hooks (guard->host);
  if (!h->has_guard || guard->before == NULL)
    return TRUE;
  /* The managing console's settings: its policy decides (see
   * vh_guard_trust); the audit event of the change still records it. */
  if (g_atomic_pointer_get (&h->trusted) == (gpointer) g_thread_self ())
    return TRUE;
  after = h->guard.snapshot (guard->host, &local);
  if (after == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "cannot read this machine's password protection after %s, so "
                   "it is refused: %s", change, local->message);
      return FALSE;
    }
  ok = h->guard.authorize (guard->host, guard->before, after, change, &local);
  h->guard.free (after);
  if (!ok)
    {
      /* Recorded by vh_guard_finish, after the caller's rollback. */
      guard->refused_change = g_strdup (change);
      guard->refused_reason = g_strdup (local->message);
      /* One code for every refusal (a wrong password, none to be had, a bad
       * VIGIL_PASSWORD_FD), which the public API reports as PROTECTED. */
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, local->message);
    }
  return ok;
}

void
vh_guard_finish (VhGuard *guard)
{
  g_autoptr (GError) error = NULL;

  if (guard == NULL)
    return;
  if (guard->refused_change)
    {
      JsonObject *audit = json_object_new ();

      json_object_set_string_member (audit, "action", "protection.change");
      json_object_set_string_member (audit, "change", guard->refused_change);
      json_object_set_string_member (audit, "reason", guard->refused_reason);
      if (!vh_audit (guard->host, "host.password_refused", NULL, audit, &error))
        vh_log (guard->host, "host", G_LOG_LEVEL_WARNING, error->message);
    }
  if (guard->before)
    hooks (guard->host)->guard.free (guard->before);
  g_free (guard->refused_change);
  g_free (guard->refused_reason);
  g_free (guard);
}

void
vh_guard_trust (VigilHost *host, gboolean trusted)
{
  g_atomic_pointer_set (&hooks (host)->trusted, trusted ? g_thread_self () : NULL);
}

gboolean
vh_audit (VigilHost *host, const char *type, const char *device_id,
          JsonObject *payload, GError **error)
{
  g_autoptr (JsonObject) owned = payload;
  Hooks *h = hooks (host);

  if (h->audit == NULL)
    return TRUE;
  if (owned == NULL)
    owned = json_object_new ();
  /* Who did it: the account running this vigil process. */
  json_object_set_string_member (owned, "account", g_get_user_name ());
  json_object_set_int_member (owned, "pid", (gint64) getpid ());
  return h->audit (host, type, device_id, owned, error);
}

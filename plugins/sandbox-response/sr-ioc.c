/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Builds the OpenIOC 1.1 document that the group IOC scan looks for: one
 * indicator, the AND of the object's MD5, SHA-256 and size. Putting the
 * size in the same AND lets the scanner skip hashing every file of another
 * size (the ioc-scan plugin indexes size-qualified hash items), which is
 * what makes a group-wide scan for one object cheap. Ids are derived from
 * the SHA-256 so the same object always gives the same document; text from
 * the detection is escaped.
 */
#include "sr-engine.h"

#define OPENIOC_11_NS "http://openioc.org/schemas/OpenIOC_1.1"

char *
sr_ioc_file_name (const SrThreat *t)
{
  return g_strdup_printf ("sandbox-%.16s.ioc", t->sha256);
}

/* A UUID-shaped id from the object's hash and a role ("ioc", "md5", ...). */
static char *
derived_id (const SrThreat *t, const char *role)
{
  g_autofree char *seed = g_strconcat (t->sha256, "/", role, NULL);
  g_autofree char *h = g_compute_checksum_for_string (G_CHECKSUM_SHA256, seed, -1);

  return g_strdup_printf ("%.8s-%.4s-5%.3s-a%.3s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static void
add_item (GString *xml, const SrThreat *t, const char *role,
          const char *search, const char *type, const char *value)
{
  g_autofree char *id = derived_id (t, role);

  g_string_append_printf (xml,
    "      <IndicatorItem id=\"%s\" condition=\"is\" preserve-case=\"false\" negate=\"false\">\n"
    "        <Context document=\"FileItem\" search=\"%s\" type=\"mir\"/>\n"
    "        <Content type=\"%s\">%s</Content>\n"
    "      </IndicatorItem>\n", id, search, type, value);
}

static char *
iso_time (gint64 now_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (now_us / G_USEC_PER_SEC);

  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
}

static void
add_metadata (GString *xml, const SrThreat *t, const char *when)
{
  g_autofree char *threat = g_markup_escape_text (t->threat, -1);
  g_autofree char *path = g_markup_escape_text (t->path, -1);
  g_autofree char *detected = g_markup_escape_text (t->detected_at, -1);

  g_string_append_printf (xml,
    "  <metadata>\n"
    "    <short_description>Sandbox detection: %s</short_description>\n"
    "    <description>Object detected by the malware sandbox as %s at %s "
    "(first seen as %s). Matches files with the same MD5, SHA-256 and "
    "size.</description>\n"
    "    <keywords>sandbox-response</keywords>\n"
    "    <authored_by>Vigil sandbox-response</authored_by>\n"
    "    <authored_date>%s</authored_date>\n"
    "    <links/>\n"
    "  </metadata>\n", threat, threat, detected, path, when);
}

char *
sr_ioc_build (const SrThreat *t, gint64 now_us)
{
  GString *xml = g_string_new ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  g_autofree char *ioc_id = derived_id (t, "ioc");
  g_autofree char *ind_id = derived_id (t, "indicator");
  g_autofree char *when = iso_time (now_us);
  g_autofree char *size = g_strdup_printf ("%" G_GINT64_FORMAT, t->size);

  g_string_append_printf (xml,
    "<OpenIOC xmlns=\"%s\" id=\"%s\" last-modified=\"%s\" published-date=\"%s\">\n",
    OPENIOC_11_NS, ioc_id, when, when);
  add_metadata (xml, t, when);
  g_string_append_printf (xml, "  <criteria>\n    <Indicator id=\"%s\" operator=\"AND\">\n", ind_id);
  add_item (xml, t, "md5", "FileItem/Md5sum", "md5", t->md5);
  add_item (xml, t, "sha256", "FileItem/Sha256sum", "sha256", t->sha256);
  add_item (xml, t, "size", "FileItem/SizeInBytes", "int", size);
  g_string_append (xml, "    </Indicator>\n  </criteria>\n  <parameters/>\n</OpenIOC>\n");
  return g_string_free (xml, FALSE);
}

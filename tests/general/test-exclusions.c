/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Telemetry exclusions (host/settings/exclusions.c, exclusions-xml.c): rule
 * matching on process and network events, the use and optimize switches,
 * rule checks, and the XML list: round trip, defensive parsing, errors with
 * file and line.
 */
#include "settings/general-private.h"

#include <string.h>

static JsonObject *
obj (const char *json)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);

  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static gboolean
excluded (const char *group_json, const char *type, const char *payload_json)
{
  g_autoptr (JsonObject) group = obj (group_json);
  g_autoptr (JsonObject) payload = obj (payload_json);

  return vh_exclusions_match (group, type, payload);
}

#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static const char *process_event =
  "{\"image\":\"/opt/backup/bin/agent\",\"sha256\":\"" SHA "\","
  "\"cmdline\":\"/opt/backup/bin/agent --nightly --target /srv\",\"user\":\"backup\",\"pid\":42}";

/* ------------------------------------------------------------------ */
/* Matching                                                            */
/* ------------------------------------------------------------------ */

static void
test_process_rule_each_criterion (void)
{
  const char *rules[] = {
    "{\"use_exclusions\":true,\"processes\":[{\"image\":\"/opt/backup/*\"}]}",
    "{\"use_exclusions\":true,\"processes\":[{\"sha256\":\"" SHA "\"}]}",
    "{\"use_exclusions\":true,\"processes\":[{\"cmdline\":\"--nightly\\\\b\"}]}",
    "{\"use_exclusions\":true,\"processes\":[{\"user\":\"backup\"}]}",
  };
  const char *misses[] = {
    "{\"use_exclusions\":true,\"processes\":[{\"image\":\"/usr/bin/*\"}]}",
    "{\"use_exclusions\":true,\"processes\":[{\"sha256\":\"00\"}]}",
    "{\"use_exclusions\":true,\"processes\":[{\"cmdline\":\"^--daily\"}]}",
    "{\"use_exclusions\":true,\"processes\":[{\"user\":\"Backup\"}]}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rules); i++)
    g_assert_true (excluded (rules[i], "process.started", process_event));
  for (gsize i = 0; i < G_N_ELEMENTS (misses); i++)
    g_assert_false (excluded (misses[i], "process.started", process_event));
}

static void
test_process_rule_all_criteria_must_match (void)
{
  const char *both = "{\"use_exclusions\":true,\"processes\":[{\"image\":\"/opt/backup/*\","
                     "\"user\":\"root\"}]}";

  g_assert_false (excluded (both, "process.started", process_event));
}

static void
test_sha256_case_insensitive (void)
{
  g_autofree char *upper = g_ascii_strup (SHA, -1);
  g_autofree char *rule = g_strdup_printf ("{\"use_exclusions\":true,\"processes\":"
                                           "[{\"sha256\":\"%s\"}]}", upper);

  g_assert_true (excluded (rule, "process.started", process_event));
}

static void
test_use_exclusions_off (void)
{
  const char *off = "{\"use_exclusions\":false,\"processes\":[{\"user\":\"backup\"}]}";

  g_assert_false (excluded (off, "process.started", process_event));
}

static void
test_other_events_untouched (void)
{
  const char *rule = "{\"use_exclusions\":true,\"processes\":[{\"user\":\"backup\"}]}";

  g_assert_false (excluded (rule, "sandbox.threat_detected", process_event));
  g_assert_false (excluded (rule, "quarantine.added", process_event));
}

static void
test_network_rules (void)
{
  const char *group = "{\"use_exclusions\":true,\"optimize_telemetry\":false,\"networks\":["
                      "{\"address\":\"10.20.0.0/16\",\"direction\":\"outbound\"},"
                      "{\"port\":8443,\"direction\":\"inbound\"},"
                      "{\"address\":\"2001:db8::/32\",\"port\":53}]}";

  g_assert_true (excluded (group, "network.connection",
                           "{\"direction\":\"outbound\",\"remote_address\":\"10.20.3.4\",\"remote_port\":80}"));
  g_assert_false (excluded (group, "network.connection",
                            "{\"direction\":\"inbound\",\"remote_address\":\"10.20.3.4\",\"local_port\":22}"));
  /* Inbound: the service port is the local one. */
  g_assert_true (excluded (group, "network.connection",
                           "{\"direction\":\"inbound\",\"remote_address\":\"8.8.8.8\",\"local_port\":8443,\"remote_port\":50000}"));
  g_assert_false (excluded (group, "network.connection",
                            "{\"direction\":\"outbound\",\"remote_address\":\"8.8.8.8\",\"remote_port\":8443}"));
  g_assert_true (excluded (group, "network.connection",
                           "{\"direction\":\"outbound\",\"remote_address\":\"2001:db8::53\",\"remote_port\":53}"));
  g_assert_false (excluded (group, "network.connection",
                            "{\"direction\":\"outbound\",\"remote_address\":\"2001:db9::53\",\"remote_port\":53}"));
}

static void
test_network_rules_not_on_process_events (void)
{
  const char *group = "{\"use_exclusions\":true,\"networks\":[{\"port\":53}]}";

  g_assert_false (excluded (group, "process.started", "{\"remote_port\":53}"));
}

static void
test_process_rule_covers_its_network_events (void)
{
  const char *group = "{\"use_exclusions\":true,\"optimize_telemetry\":false,"
                      "\"processes\":[{\"image\":\"/opt/backup/*\"}]}";

  g_assert_true (excluded (group, "network.connection",
                           "{\"image\":\"/opt/backup/bin/agent\",\"direction\":\"outbound\","
                           "\"remote_address\":\"8.8.8.8\",\"remote_port\":443}"));
}

static void
test_optimize_drops_smb_and_agent (void)
{
  const char *smb = "{\"direction\":\"outbound\",\"remote_address\":\"10.0.0.2\",\"remote_port\":445}";
  const char *agent = "{\"image\":\"/usr/bin/vigil\",\"direction\":\"outbound\","
                      "\"remote_address\":\"8.8.8.8\",\"remote_port\":443}";
  const char *web = "{\"direction\":\"outbound\",\"remote_address\":\"8.8.8.8\",\"remote_port\":443}";

  g_assert_true (excluded ("{\"use_exclusions\":true,\"optimize_telemetry\":true}", "network.connection", smb));
  g_assert_true (excluded ("{\"use_exclusions\":true,\"optimize_telemetry\":true}", "network.connection", agent));
  g_assert_false (excluded ("{\"use_exclusions\":true,\"optimize_telemetry\":true}", "network.connection", web));
  g_assert_false (excluded ("{\"use_exclusions\":true,\"optimize_telemetry\":false}", "network.connection", smb));
  /* Without exclusions the optimization applies whatever its switch says. */
  g_assert_true (excluded ("{\"use_exclusions\":false,\"optimize_telemetry\":false}", "network.connection", smb));
  /* Process starts of the agent are not network events: kept. */
  g_assert_false (excluded ("{\"use_exclusions\":true,\"optimize_telemetry\":true}", "process.started", agent));
}

static void
test_cidr (void)
{
  g_assert_true (vh_address_in_cidr ("192.168.1.77", "192.168.1.0/24"));
  g_assert_false (vh_address_in_cidr ("192.168.2.77", "192.168.1.0/24"));
  g_assert_true (vh_address_in_cidr ("192.168.1.77", "192.168.1.77"));
  g_assert_false (vh_address_in_cidr ("not-an-ip", "0.0.0.0/0"));
  g_assert_false (vh_address_in_cidr ("10.0.0.1", "garbage/8"));
}

/* ------------------------------------------------------------------ */
/* Rule checks                                                         */
/* ------------------------------------------------------------------ */

static void
collect (gpointer report, VigilSeverity severity, const char *path, const char *message)
{
  g_ptr_array_add (report, g_strdup_printf ("%s: %s", path, message));
}

static GPtrArray *
check (gboolean process, const char *json)
{
  GPtrArray *problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonObject) rule = obj (json);

  if (process)
    vh_exclusions_check_process (rule, "telemetry_exclusions.processes[0]", collect, problems);
  else
    vh_exclusions_check_network (rule, "telemetry_exclusions.networks[0]", collect, problems);
  return problems;
}

static void
assert_one_problem (gboolean process, const char *json, const char *expected)
{
  g_autoptr (GPtrArray) problems = check (process, json);

  if (problems->len != 1 || !strstr (problems->pdata[0], expected))
    g_error ("%s: expected one problem with '%s', got %u%s%s", json, expected,
             problems->len, problems->len ? ": " : "",
             problems->len ? (char *) problems->pdata[0] : "");
}

static void
test_rule_checks (void)
{
  g_autoptr (GPtrArray) ok1 = check (TRUE, "{\"image\":\"/opt/x/*\",\"cmdline\":\"a+b\"}");
  g_autoptr (GPtrArray) ok2 = check (FALSE, "{\"address\":\"10.0.0.0/8\",\"port\":445,\"direction\":\"any\"}");

  g_assert_cmpuint (ok1->len, ==, 0);
  g_assert_cmpuint (ok2->len, ==, 0);
  assert_one_problem (TRUE, "{}", "processes[0]: the rule sets no criterion");
  assert_one_problem (TRUE, "{\"sha256\":\"abc\"}", "processes[0].sha256: 'abc' is not 64");
  assert_one_problem (TRUE, "{\"cmdline\":\"(unclosed\"}", "processes[0].cmdline: not a valid regular expression");
  assert_one_problem (TRUE, "{\"image\":\"relative/path\"}", "processes[0].image:");
  assert_one_problem (TRUE, "{\"user\":\"x\",\"colour\":\"red\"}", "processes[0].colour: unknown key");
  assert_one_problem (TRUE, "{\"user\":5}", "processes[0].user: must be a string");
  assert_one_problem (FALSE, "{}", "networks[0]: the rule sets neither address nor port");
  assert_one_problem (FALSE, "{\"port\":70000}", "networks[0].port: 70000 is out of range 1–65535");
  assert_one_problem (FALSE, "{\"port\":\"80\"}", "networks[0].port: must be an integer");
  assert_one_problem (FALSE, "{\"address\":\"10.0.0.300\"}", "networks[0].address:");
  assert_one_problem (FALSE, "{\"port\":80,\"direction\":\"sideways\"}", "networks[0].direction:");
}

/* ------------------------------------------------------------------ */
/* XML                                                                 */
/* ------------------------------------------------------------------ */

static void
test_xml_round_trip (void)
{
  g_autoptr (JsonObject) group = obj (
    "{\"use_exclusions\":true,"
    "\"processes\":[{\"image\":\"/opt/backup/*\",\"user\":\"backup\",\"description\":\"nightly <backup> & co\"},"
    "{\"sha256\":\"" SHA "\",\"cmdline\":\"^/usr/bin/python3 .*manage\\\\.py\"}],"
    "\"networks\":[{\"address\":\"10.0.0.0/8\",\"port\":445,\"direction\":\"outbound\"},"
    "{\"address\":\"fd00::/8\"}]}");
  g_autoptr (GError) error = NULL;
  g_autofree char *xml = vh_exclusions_to_xml (group, &error);
  g_autoptr (JsonObject) back = NULL;
  g_autofree char *xml2 = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (strstr (xml, "<telemetry-exclusions version=\"1\">"));
  g_assert_nonnull (strstr (xml, "nightly &lt;backup&gt; &amp; co"));
  back = vh_exclusions_from_xml (xml, strlen (xml), "rules.xml", &error);
  g_assert_no_error (error);
  g_assert_true (json_array_equal (json_object_get_array_member (group, "processes"),
                                   json_object_get_array_member (back, "processes")));
  g_assert_true (json_array_equal (json_object_get_array_member (group, "networks"),
                                   json_object_get_array_member (back, "networks")));
  xml2 = vh_exclusions_to_xml (back, &error);
  g_assert_cmpstr (xml, ==, xml2);
}

static void
test_xml_empty_list (void)
{
  g_autoptr (JsonObject) empty = json_object_new ();
  g_autofree char *xml = vh_exclusions_to_xml (empty, NULL);
  g_autoptr (JsonObject) back = vh_exclusions_from_xml (xml, strlen (xml), "e.xml", NULL);

  g_assert_nonnull (back);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (back, "processes")), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (back, "networks")), ==, 0);
}

static void
assert_xml_error (const char *xml, const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) result = vh_exclusions_from_xml (xml, strlen (xml), "bad.xml", &error);

  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  if (!strstr (error->message, expected))
    g_error ("expected '%s' in '%s'", expected, error->message);
}

static void
test_xml_errors_name_file_and_line (void)
{
  assert_xml_error ("<telemetry-exclusions>\n<process>\n<image>/x</imag>\n</process>",
                    "bad.xml:3:");
  assert_xml_error ("<other/>", "bad.xml:1: the root element is not <telemetry-exclusions>");
  assert_xml_error ("<telemetry-exclusions>\n\n<file/></telemetry-exclusions>",
                    "bad.xml:3: unexpected <file>");
  assert_xml_error ("<telemetry-exclusions>\n<network>\n<port>eighty</port>\n</network>\n</telemetry-exclusions>",
                    "bad.xml:3: <port> 'eighty' is not a number");
  assert_xml_error ("<telemetry-exclusions>\n<network><port>1</port><port>2</port></network>\n</telemetry-exclusions>",
                    "bad.xml:2: repeated <port>");
  assert_xml_error ("<telemetry-exclusions>\n<process>\n<sha256>xyz</sha256>\n</process>\n</telemetry-exclusions>",
                    "bad.xml:2: processes[0].sha256");
}

static void
test_xml_refuses_dtd_and_entities (void)
{
  assert_xml_error ("<?xml version=\"1.0\"?>\n<!DOCTYPE t [<!ENTITY a \"aaaa\">]>\n"
                    "<telemetry-exclusions><process><user>&a;</user></process></telemetry-exclusions>",
                    "DTD or entity declaration is not allowed");
  assert_xml_error ("<!DOCTYPE t SYSTEM \"http://127.0.0.1:1/x.dtd\"><telemetry-exclusions/>",
                    "not allowed");
  /* An undeclared entity is an error, never a fetch. */
  assert_xml_error ("<telemetry-exclusions><process><user>&ext;</user></process></telemetry-exclusions>",
                    "bad.xml:1:");
}

static void
test_xml_size_limit (void)
{
  gsize len = VH_EXCLUSIONS_XML_MAX + 1;
  g_autofree char *big = g_malloc (len + 1);
  g_autoptr (GError) error = NULL;

  memset (big, ' ', len);
  big[len] = '\0';
  g_assert_null (vh_exclusions_from_xml (big, len, "big.xml", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "over the limit"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/exclusions/process-rule-each-criterion", test_process_rule_each_criterion);
  g_test_add_func ("/exclusions/process-rule-all-criteria-must-match", test_process_rule_all_criteria_must_match);
  g_test_add_func ("/exclusions/sha256-case-insensitive", test_sha256_case_insensitive);
  g_test_add_func ("/exclusions/use-exclusions-off", test_use_exclusions_off);
  g_test_add_func ("/exclusions/other-events-untouched", test_other_events_untouched);
  g_test_add_func ("/exclusions/network-rules", test_network_rules);
  g_test_add_func ("/exclusions/network-rules-not-on-process-events", test_network_rules_not_on_process_events);
  g_test_add_func ("/exclusions/process-rule-covers-its-network-events", test_process_rule_covers_its_network_events);
  g_test_add_func ("/exclusions/optimize-drops-smb-and-agent", test_optimize_drops_smb_and_agent);
  g_test_add_func ("/exclusions/cidr", test_cidr);
  g_test_add_func ("/exclusions/rule-checks", test_rule_checks);
  g_test_add_func ("/exclusions/xml-round-trip", test_xml_round_trip);
  g_test_add_func ("/exclusions/xml-empty-list", test_xml_empty_list);
  g_test_add_func ("/exclusions/xml-errors-name-file-and-line", test_xml_errors_name_file_and_line);
  g_test_add_func ("/exclusions/xml-refuses-dtd-and-entities", test_xml_refuses_dtd_and_entities);
  g_test_add_func ("/exclusions/xml-size-limit", test_xml_size_limit);
  return g_test_run ();
}

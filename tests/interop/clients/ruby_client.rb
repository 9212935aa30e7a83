#!/usr/bin/env ruby
# frozen_string_literal: true
#
# An xrsched client written with Ruby's xmlrpc library (Debian: ruby + ruby-xmlrpc).
# Run by tests/interop/test_ruby_xmlrpc.py.
#
#   ruby_client.rb URL CA_FILE TOKEN_ID AUTH WORKER PREFIX
#
# The token secret comes from the environment (XRSCHED_SECRET), never argv.
# AUTH is "bearer" (an extra "Authorization: Bearer <secret>" header) or "basic"
# (XMLRPC::Client's user/password, sent preemptively as HTTP Basic TOKEN_ID:secret).
# TLS is verified against CA_FILE, host name included.
# Prints one JSON document with every result; exits non-zero on a transport error.
require "json"
require "openssl"
require "uri"
require "xmlrpc/client"

if ARGV.length != 6
  warn "usage: #{$PROGRAM_NAME} URL CA_FILE TOKEN_ID bearer|basic WORKER PREFIX"
  exit 2
end
url, ca_file, token_id, auth, worker, prefix = ARGV
secret = ENV.fetch("XRSCHED_SECRET", "")
abort "XRSCHED_SECRET is not set" if secret.empty?

uri = URI.parse(url)
options = { "host" => uri.host, "port" => uri.port, "path" => uri.path, "use_ssl" => true, "timeout" => 20 }
case auth
when "basic" then options.update("user" => token_id, "password" => secret)
when "bearer" then nil
else abort "unknown auth mode #{auth}"
end
client = XMLRPC::Client.new3(options)
client.http_header_extra = { "Authorization" => "Bearer #{secret}" } if auth == "bearer"

# ruby-xmlrpc has no TLS options of its own: configure its Net::HTTP object to verify the
# server against the test CA (Net::HTTP also checks the host name).
http = client.instance_variable_get(:@http)
http.ca_file = ca_file
http.verify_mode = OpenSSL::SSL::VERIFY_PEER

# Koji's convention: a trailing struct with "__starstar": true carries keyword arguments.
def kw(**members)
  { "__starstar" => true }.merge(members.transform_keys(&:to_s))
end

# call2 returns [ok, value]; a fault comes back as an XMLRPC::FaultException.
def call(client, method, *args)
  ok, value = client.call2(method, *args)
  ok ? value : { "faultCode" => value.faultCode, "faultString" => value.faultString }
end

def fault_or_value(entry)
  return entry unless entry.is_a?(XMLRPC::FaultException)

  { "faultCode" => entry.faultCode, "faultString" => entry.faultString }
end

out = {}
out["ping"] = call(client, "ping", kw(worker: worker))
out["add_task"] = call(client, "add_task", kw(task_id: "#{prefix}1", worker: worker, family: "RubyFamily",
                                              params: { "when" => "2024-01-01", "n" => "7" }, priority: 5))
out["task_list_pending"] = call(client, "task_list", "PENDING", "")
# XMLRPC::Client#multicall2 builds the system.multicall request and unpacks its results.
ok, results = client.multicall2(
  ["ping", kw(worker: worker)],
  ["add_task", kw(task_id: "#{prefix}2", worker: worker, family: "RubyFamily")]
)
out["multicall"] = ok ? results.map { |entry| fault_or_value(entry) } : fault_or_value(results)
out["task_list_all"] = call(client, "task_list", "", "")
out["unknown_method"] = call(client, "no_such_method", 1)
out["forbidden_method"] = call(client, "disable_worker", kw(worker: worker))

puts JSON.generate(out)

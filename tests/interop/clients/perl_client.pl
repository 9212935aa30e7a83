#!/usr/bin/perl
# An xrsched client written with Perl's RPC::XML (Debian: librpc-xml-perl) over LWP
# (https: liblwp-protocol-https-perl). Run by tests/interop/test_perl_rpc_xml.py.
#
#   perl_client.pl URL CA_FILE TOKEN_ID AUTH WORKER PREFIX
#
# The token secret comes from the environment (XRSCHED_SECRET), never argv.
# AUTH is "basic" (LWP answers the server's 401 Basic challenge with TOKEN_ID:secret)
# or "bearer" (an "Authorization: Bearer <secret>" header on every request).
# TLS is verified against CA_FILE, host name included.
# Prints one JSON document with every result; exits non-zero on a transport error.
use strict;
use warnings;

use JSON::PP ();
use RPC::XML qw(RPC_BOOLEAN RPC_STRING);
use RPC::XML::Client;

my ($url, $ca, $token_id, $auth, $worker, $prefix) = @ARGV;
die "usage: $0 URL CA_FILE TOKEN_ID basic|bearer WORKER PREFIX\n" unless defined $prefix;
my $secret = $ENV{XRSCHED_SECRET};
die "XRSCHED_SECRET is not set\n" unless defined $secret && length $secret;

my $client = RPC::XML::Client->new(
    $url,
    useragent => [
        keep_alive => 1,
        timeout    => 20,
        ssl_opts   => {
            verify_hostname => 1,
            SSL_ca_file     => $ca,
            SSL_verify_mode => 1,    # SSL_VERIFY_PEER
        },
    ],
);
die "cannot create the client: $client\n" unless ref $client;

if ($auth eq 'basic') {
    # The realm must match the server's WWW-Authenticate: Basic realm="xrsched".
    $client->credentials('xrsched', $token_id, $secret);
}
elsif ($auth eq 'bearer') {
    $client->request->header(Authorization => "Bearer $secret");
}
else {
    die "unknown auth mode $auth\n";
}

# Koji's convention: a trailing struct with "__starstar": true carries keyword arguments.
sub kw { return { __starstar => RPC_BOOLEAN(1), @_ } }

# Call a method; return the native value, or {faultCode, faultString} for a fault.
# A transport or parse error (a plain string from RPC::XML::Client) is fatal.
sub call {
    my ($method, @args) = @_;
    my $reply = $client->send_request($method, @args);
    die "$method: $reply\n" unless ref $reply;
    if ($reply->is_fault) {
        return { faultCode => 0 + $reply->code, faultString => $reply->string };
    }
    return $reply->value;
}

my %out;
$out{ping}     = call('ping', kw(worker => $worker));
$out{add_task} = call('add_task', kw(
    task_id => "${prefix}1",
    worker  => $worker,
    family  => 'PerlFamily',
    params  => { when => RPC_STRING('2024-01-01'), n => RPC_STRING('7') },
    priority => 5,
));
$out{task_list_pending} = call('task_list', 'PENDING', '');
$out{multicall} = call('system.multicall', [
    { methodName => 'ping',     params => [kw(worker => $worker)] },
    { methodName => 'add_task', params => [kw(task_id => "${prefix}2", worker => $worker, family => 'PerlFamily')] },
]);
$out{task_list_all}    = call('task_list', '', '');
$out{unknown_method}   = call('no_such_method', 1);
$out{forbidden_method} = call('disable_worker', kw(worker => $worker));

print JSON::PP->new->canonical->convert_blessed->encode(\%out), "\n";

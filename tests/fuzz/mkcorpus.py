#!/usr/bin/env python3
# mkcorpus.py: writes the seed corpora of the fuzz harnesses into
# tests/fuzz/corpus/{request,frame,config}, and the regression inputs into
# tests/fuzz/regress/. Run from the repository root.
import os
import struct

def pk(v):
    """A small MessagePack encoder: enough for requests."""
    if v is None:
        return b'\xc0'
    if v is True:
        return b'\xc3'
    if v is False:
        return b'\xc2'
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack('b', v)
        if v < 0:
            return b'\xd3' + struct.pack('>q', v)
        if v < 1 << 8:
            return b'\xcc' + bytes([v])
        if v < 1 << 16:
            return b'\xcd' + struct.pack('>H', v)
        if v < 1 << 32:
            return b'\xce' + struct.pack('>I', v)
        return b'\xcf' + struct.pack('>Q', v)
    if isinstance(v, str):
        v = v.encode('utf-8', 'surrogatepass')
    if isinstance(v, bytes):
        n = len(v)
        if n < 32:
            return bytes([0xa0 | n]) + v
        if n < 256:
            return b'\xd9' + bytes([n]) + v
        return b'\xda' + struct.pack('>H', n) + v
    if isinstance(v, list):
        n = len(v)
        h = bytes([0x90 | n]) if n < 16 else b'\xdc' + struct.pack('>H', n)
        return h + b''.join(pk(x) for x in v)
    if isinstance(v, dict):
        return pk_pairs(list(v.items()))
    raise TypeError(v)

def pk_pairs(pairs):
    n = len(pairs)
    h = bytes([0x80 | n]) if n < 16 else b'\xde' + struct.pack('>H', n)
    return h + b''.join(pk(k) + pk(x) for k, x in pairs)

def req(op, args=None, rid=1, v=1):
    return pk_pairs([('v', v), ('id', rid), ('op', op),
                     ('args', args or {})])

PW = 'correct horse battery'
requests = {
    'hello': req('hello'),
    'user_add': req('user_add', {'username': 'alice', 'name': 'Alice A.',
        'email': 'alice@example.org', 'new_password': PW, 'role': 'user',
        'auth_provider': 'local', 'auth_id': 'a-1', 'superadmin': False,
        'login': True, 'webdav': True, 'upload_path': '/srv/alice',
        'restore': True, 'activate': False}),
    'user_show': req('user_show', {'username': 'alice'}),
    'user_list': req('user_list', {'search': 'ali', 'limit': 10,
        'offset': 0}),
    'user_mod': req('user_mod', {'username': 'alice', 'email': '',
        'disable_2fa': True, 'unlock': True, 'role': 'viewer'}),
    'user_rm': req('user_rm', {'username': 'alice'}),
    'users_reset': req('users_reset', {'confirm': True}),
    'passwd_admin': req('passwd', {'username': 'alice',
        'new_password': PW}),
    'passwd_self': req('passwd', {'password': PW,
        'new_password': 'another good one'}),
    'passwd_remove': req('passwd', {'username': 'alice', 'remove': True}),
    'login': req('login', {'username': 'alice', 'password': PW,
        'service': 'imap', 'remote_addr': '192.0.2.1', 'session': True,
        'scope': 'imap smtp', 'lifetime': 3600}),
    'audit_logins': req('audit_logins', {'username': 'alice',
        'limit': 5}),
    'audit_reset': req('audit_reset', {'confirm': True}),
    'token_add': req('token_add', {'username': 'alice',
        'type': 'app_password', 'name': 'phone', 'scope': '*',
        'lifetime': 86400}),
    'token_validate': req('token_validate', {'token': '0123456789abcdef_'
        + '0' * 64, 'service': 'imap'}),
    'token_list': req('token_list', {'search': 'ph', 'type': 'session',
        'limit': 3}),
    'token_show': req('token_show', {'id': '0123456789abcdef'}),
    'token_revoke': req('token_revoke', {'id': '0123456789abcdef'}),
    'tokens_reset': req('tokens_reset', {'confirm': True}),
    'client_verify': req('client_verify', {'client_id': '0123456789abcdef',
        'client_secret': 's' * 64, 'scope': 'openid'}),
    'password_forgot': req('password_forgot', {'email': 'a@example.org'}),
    'password_reset': req('password_reset', {'token': 'x_y',
        'new_password': PW}),
    'user_reset_password': req('user_reset_password',
        {'username': 'alice'}),
    # Edge cases.
    'unknown_op': req('frobnicate'),
    'bad_version': req('hello', v=2),
    'big_id': req('hello', rid=(1 << 64) - 1),
    'neg_id': req('hello', rid=-1),
    'no_args': pk_pairs([('v', 1), ('id', 7), ('op', 'hello')]),
    'extra_key': pk_pairs([('v', 1), ('id', 1), ('op', 'hello'),
        ('args', {}), ('x', 1)]),
    'dup_key': pk_pairs([('v', 1), ('id', 1), ('id', 2), ('op', 'hello'),
        ('args', {})]),
    'dup_arg': req('user_show', None)[:-1] + pk_pairs([('username', 'a'),
        ('username', 'b')]),
    'unknown_arg': req('user_show', {'username': 'a', 'nope': 1}),
    'wrong_type': req('user_list', {'limit': 'ten'}),
    'neg_int': req('user_list', {'limit': -5}),
    'int_over': req('user_list', {'limit': 10001}),
    'bool_as_int': req('users_reset', {'confirm': 1}),
    'missing_required': req('user_add', {'name': 'x'}),
    'nul_in_str': req('user_show', {'username': 'al\x00ice'}),
    'bad_utf8': req('user_show', {'username': b'\xc0\xaf'}),
    'surrogate': req('user_add', {'username': 'b', 'name': '\ud800'}),
    'c1_control': req('user_add', {'username': 'b', 'name': 'a\u009bb'}),
    'max_username': req('user_show', {'username': 'u' * 254}),
    'over_username': req('user_show', {'username': 'u' * 255}),
    'upper_username': req('user_add', {'username': 'Bob.Smith@X'}),
    'long_password': req('passwd', {'username': 'a',
        'new_password': 'p' * 4096}),
    'bad_email': req('user_add', {'username': 'c',
        'email': 'a..b@-x.example'}),
    'args_array': pk_pairs([('v', 1), ('id', 1), ('op', 'hello'),
        ('args', [])]),
    'top_array': pk([1, 2, 3]),
    'nested': req('user_show')[:-1] + pk({'username': [[[['deep']]]]}),
    'array32_16M': bytes.fromhex('dd01000000'),
    'map32_huge': bytes.fromhex('dfffffffff'),
    'str32_huge': bytes.fromhex('dbffffffff') + b'x',
    'deep_arrays': b'\x91' * 1000 + b'\xc0',
    'deep_maps': b'\x81\xa1k' * 500 + b'\xc0',
    'ext_and_bin': pk_pairs([('v', 1), ('id', 1), ('op', 'hello'),
        ('args', {})])[:-1] + b'\xc7\x01\x05x',
    'float_id': pk_pairs([('v', 1), ('op', 'hello'), ('args', {})])[:-1]
        .replace(b'\x83', b'\x84', 1) + b'\x80\xa2id\xcb' + bytes(8),
    'trailing': req('hello') + b'\xc0',
    'reserved_c1': b'\xc1',
    'empty': b'',
    # Replies: the same harness decodes each input as a reply too.
    'reply_ok': pk_pairs([('v', 1), ('id', 1), ('result', {'users': [],
        'total': 0})]),
    'reply_err': pk_pairs([('v', 1), ('id', 1), ('error', {'code': 6,
        'name': 'permission_denied', 'message': 'no\x1b[31m'})]),
}

def frame(p):
    return struct.pack('>I', len(p)) + p

frames = {
    'one': frame(requests['hello']),
    'three': b''.join(frame(requests[k]) for k in
        ('hello', 'user_add', 'login')),
    'zero_len': struct.pack('>I', 0),
    'too_big': struct.pack('>I', 65537) + b'x' * 16,
    'max_len_cut': struct.pack('>I', 65536) + b'\x91' * 100,
    'huge_len': b'\xff\xff\xff\xff',
    'short_header': b'\x00\x00',
    'cut_payload': frame(requests['user_add'])[:-5],
    'array32_16M': frame(requests['array32_16M']) * 4,
    'deep': frame(requests['deep_arrays']),
    'garbage_then_valid': frame(b'\xc1\xc1') + frame(requests['hello']),
}

configs = {
    'defaults': '# nothing\n',
    'test': 'argon2_memory_kib = 64\nargon2_time = 1\nhash_workers = 2\n'
        'admin_group = 4242\nauth_group = acctauth\nlog_level = debug\n',
    'all_keys': '\n'.join([
        'socket = /run/acctd/acctd.sock',
        'database = /var/lib/acctd/acctd.db',
        'admin_group = acctadm', 'auth_group = acctauth',
        'argon2_memory_kib = 65536', 'argon2_time = 3',
        'argon2_parallelism = 1', 'password_min_length = 8',
        'password_max_length = 256', 'hash_workers = 0',
        'hash_queue = 64', 'max_connections = 256',
        'max_connections_per_uid = 32', 'idle_timeout = 60',
        'frame_timeout = 10', 'log_level = info',
        'lockout_failures = 5', 'source_lockout_failures = 20',
        'lockout_base = 30', 'lockout_max = 900',
        'audit_retention_days = 90', 'session_lifetime = 1209600',
        'sendmail_command = /usr/sbin/sendmail -t -i',
        'mail_from = acctd@example.org',
        'reset_url = https://example.org/reset?t={token}',
        'activation_url = "https://example.org/activate/{token}"',
        'mail_timeout = 30', 'mail_queue = 100',
        'reset_token_lifetime = 86400',
        'activation_token_lifetime = 172800', '']),
    'comments_ws': '  # comment\n\t\nlog_level\t=  warning  # trailing\r\n',
    'unknown_key': 'frobnicate = 1\n',
    'no_equals': 'log_level debug\n',
    'bad_number': 'max_connections = 12x\n',
    'overflow': 'max_connections = 99999999999999999999\n',
    'zero': 'max_connections = 0\n',
    'min_gt_max': 'password_min_length = 300\npassword_max_length = 10\n',
    'relative_path': 'database = var/acctd.db\n',
    'long_path': 'socket = /' + 'a' * 200 + '\n',
    'quotes': 'mail_from = ""\nadmin_group = "0"\n',
    'bad_url': 'reset_url = https://x/ {token}\n',
    'bad_command': 'sendmail_command = sendmail -t\n',
    'argon_small': 'argon2_memory_kib = 8\nargon2_parallelism = 2\n',
    'no_newline': 'log_level = error',
    'later_wins': 'log_level = error\nlog_level = debug\n',
}

# Regressions: inputs at the edges that changes have moved, kept so that
# every replay (test_fuzzregress) runs through them again.
regress_requests = {
    # a context field past its limit, cut inside a 2-byte character
    'clamp_utf8': req('login', {'username': 'alice', 'password': PW,
        'remote_addr': 'a' * 63 + '\u00e9' + 'b' * 300,
        'service': 'imap' + '\u20ac' * 40}),
    'clamp_secret_not_cut': req('login', {'username': 'a',
        'password': 'p' * 4097}),
    'passwd_remote': req('passwd', {'password': PW, 'new_password': PW,
        'remote_addr': '203.0.113.9'}),
    'forgot_remote': req('password_forgot', {'email': 'a@example.org',
        'remote_addr': '\x1b[2J'}),
    'escape_service': req('login', {'username': 'a', 'password': 'b',
        'service': '\x1b]0;owned\x07=HYPERLINK("x")'}),
    'recovery_code': req('login', {'username': 'a', 'password': 'b',
        'code': 'k7m2p-x9q4r-0hz3c-w8d6e'}),
    'totp_confirm_no_user': req('totp_confirm', {'code': '123456'}),
    'revoke_both': req('token_revoke', {'id': '0123456789abcdef',
        'token': '0123456789abcdef_' + 'a' * 64}),
}

regress_frames = {
    'clamp_in_frame': frame(regress_requests['clamp_utf8']) * 2,
    'max_request': frame(req('user_import', {'data': 'u:' + 'h' * 60000})),
}

regress_configs = {
    'mail_limits': 'reset_mail_interval = 0\nreset_mail_per_source = 0\n',
    'mail_limits_over': 'reset_mail_interval = 86401\n',
}

for root, sets in (('tests/fuzz/corpus', (('request', requests),
        ('frame', frames), ('config', configs))),
        ('tests/fuzz/regress', (('request', regress_requests),
        ('frame', regress_frames), ('config', regress_configs)))):
  for name, seeds in sets:
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    for k, v in seeds.items():
        if isinstance(v, str):
            v = v.encode()
        with open(os.path.join(d, k), 'wb') as f:
            f.write(v)

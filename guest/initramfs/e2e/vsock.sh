# virtio-vsock both ways. Guest-initiated: the host side listens on <uds_path>_6000 and echoes.
# Host-initiated: the host side keeps trying "CONNECT 5000" on <uds_path> until we listen.
reply="$(timeout 30 vsock-echo connect 2 6000 hello-from-guest 2>&1)"
e2e_say "vsock guest-to-host $reply"
heard="$(timeout 60 vsock-echo listen-once 5000 2>&1)"
e2e_say "vsock host-to-guest $heard"
e2e_poweroff

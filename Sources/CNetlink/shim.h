/* CNetlink - libnl-3, -route-3, -genl-3, -nf-3 as one Swift module. */
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/object.h>
#include <netlink/route/rtnl.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/neighbour.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netfilter/ct.h>
/* ctnetlink constants for libnl-nf's conntrack API: NFNLGRP_CONNTRACK_*,
 * NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_*, CTA_*. */
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
/* NFNL_SUBSYS_NFTABLES's message types (NFT_MSG_NEWGEN). */
#include <linux/netfilter/nf_tables.h>

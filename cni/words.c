/* cni/words.c — the container's NIC as the words of a vpcbpf command, for the one grammar (cluster mode, edits). */
#include <stdio.h>
#include <arpa/inet.h>
#include "cni/cni.h"

/* nic add IP vpc VNI mac MAC { dev HOSTVETH | host HOST dev HOSTVETH } [sg NAME] */
int nic_add_words(struct nic_words *w, const struct netconf *nc, const struct cni_call *c, const struct cni_addr *a)
{
	int n = 0;

	inet_ntop(AF_INET, &a->ip, w->ip, sizeof(w->ip));
	snprintf(w->vni, sizeof(w->vni), "%u", nc->vpc);
	snprintf(w->mac, sizeof(w->mac), "%02x:%02x:%02x:%02x:%02x:%02x", c->mac[0], c->mac[1], c->mac[2], c->mac[3],
		 c->mac[4], c->mac[5]);
	snprintf(w->dev, sizeof(w->dev), "%s", c->host_if);
	w->argv[n++] = "nic";
	w->argv[n++] = "add";
	w->argv[n++] = w->ip;
	w->argv[n++] = "vpc";
	w->argv[n++] = w->vni;
	w->argv[n++] = "mac";
	w->argv[n++] = w->mac;
	if (nc->host) {
		snprintf(w->host, sizeof(w->host), "%s", nc->host);
		w->argv[n++] = "host";
		w->argv[n++] = w->host;
	}
	w->argv[n++] = "dev";
	w->argv[n++] = w->dev;
	if (nc->sg[0]) {
		snprintf(w->sg, sizeof(w->sg), "%s", nc->sg);
		w->argv[n++] = "sg";
		w->argv[n++] = w->sg;
	}
	w->argv[n] = NULL;
	return w->argc = n;
}

/* nic del IP vpc VNI */
int nic_del_words(struct nic_words *w, const struct nic_key *k)
{
	inet_ntop(AF_INET, &k->ip, w->ip, sizeof(w->ip));
	snprintf(w->vni, sizeof(w->vni), "%u", k->vni);
	w->argv[0] = "nic";
	w->argv[1] = "del";
	w->argv[2] = w->ip;
	w->argv[3] = "vpc";
	w->argv[4] = w->vni;
	w->argv[5] = NULL;
	return w->argc = 5;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * -f svg: the run's off-CPU time as an interactive flame graph, one
 * self-contained SVG file (no network needed to open it): root at the
 * bottom ("all", then each process), a frame's width its blocked time;
 * coloured by wait reason (grey where several meet), frames with time
 * of threads still blocked at the last report outlined in red;
 * tooltips with time and share, click to zoom, search by regular
 * expression. The tree is built here and written as JSON into the
 * page's script, which lays it out (flamegraph.pl's SVG, whose script
 * zooms and searches, was the model; Debian ships no generator).
 * Goroutine groups are counts, not time: they are in folded and
 * pprof-go, not here. The page takes "#search=RE" and "#zoom=NAME" in
 * its URL too.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "model/profile.h"
#include "report/fmt.h"
#include "report/framename.h"
#include "report/sink.h"
#include "stacks/stacktab.h"

#define MAX_REASONS 64
#define REASON_NONE (-2)
#define REASON_MIXED (-1)
#define FRAME_H 16
#define WIDTH 1200

struct node {
	char *name;
	uint64_t ns, open_ns;
	int reason; /* index in tree.reasons, REASON_MIXED, REASON_NONE */
	struct node *kids;
	UT_hash_handle hh;
};

struct tree {
	struct node root;
	const char *reasons[MAX_REASONS];
	int nreasons;
	uint32_t depth;
	int err;
};

static void node_free(struct node *n)
{
	struct node *c, *t;

	HASH_ITER(hh, n->kids, c, t) {
		HASH_DEL(n->kids, c);
		node_free(c);
		free(c->name);
		free(c);
	}
}

static struct node *child(struct tree *t, struct node *n, const char *name)
{
	struct node *c;

	HASH_FIND_STR(n->kids, name, c);
	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (c)
		c->name = strdup(name);
	if (!c || !c->name) {
		free(c);
		t->err = -ENOMEM;
		return NULL;
	}
	c->reason = REASON_NONE;
	HASH_ADD_KEYPTR(hh, n->kids, c->name, strlen(c->name), c);
	return c;
}

static int reason_index(struct tree *t, const char *reason)
{
	int i;

	for (i = 0; i < t->nreasons; i++)
		if (!strcmp(t->reasons[i], reason))
			return i;
	if (t->nreasons == MAX_REASONS)
		return REASON_MIXED;
	t->reasons[t->nreasons] = reason;
	return t->nreasons++;
}

static void count(struct node *n, uint64_t ns, bool ongoing, int reason)
{
	n->ns += ns;
	if (ongoing)
		n->open_ns += ns;
	n->reason = n->reason == REASON_NONE || n->reason == reason ? reason : REASON_MIXED;
}

static int add_sample(void *ctx, const struct bw_prof_sample *s, bool ongoing, uint64_t ns,
		      uint64_t nblocks)
{
	struct tree *t = ctx;
	int reason = reason_index(t, s->k.reason);
	char buf[BW_ESC_LEN];
	struct node *n = &t->root;
	uint32_t depth = 1;
	int32_t i;

	(void)nblocks;
	count(n, ns, ongoing, reason);
	n = child(t, n, bw_esc(s->pcomm, buf, sizeof(buf)));
	if (!n)
		return t->err;
	count(n, ns, ongoing, reason);
	for (i = s->k.stack ? (int32_t)s->k.stack->nframes - 1 : -1; i >= 0; i--) {
		n = child(t, n, bw_frame_name(&s->k.stack->frames[i], buf, sizeof(buf)));
		if (!n)
			return t->err;
		count(n, ns, ongoing, reason);
		depth++;
	}
	if (depth > t->depth)
		t->depth = depth;
	return 0;
}

/* A JSON string inside the script's CDATA: no "]]>", no '<' either. */
static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == '<' || c == '>' || c == '&')
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static int by_name(const struct node *a, const struct node *b)
{
	return strcmp(a->name, b->name);
}

/* [name, ns, still-blocked ns, reason, [children]], children by name */
static void node_json(FILE *out, struct node *n)
{
	struct node *c;

	fputc('[', out);
	json_str(out, n->name);
	fprintf(out, ",%" PRIu64 ",%" PRIu64 ",%d,[", n->ns, n->open_ns, n->reason);
	HASH_SORT(n->kids, by_name);
	for (c = n->kids; c; c = c->hh.next) {
		node_json(out, c);
		if (c->hh.next)
			fputc(',', out);
	}
	fputs("]]", out);
}

/* The page's script: layout, tooltips, zoom, search. */
static const char script[] =
	"var NS='http://www.w3.org/2000/svg',W=1200,FH=16,TOP=52,svg,fg=null,details,matchedT,all=[],zoomed=null;\n"
	"function el(t,a,p){var e=document.createElementNS(NS,t);for(var k in a)e.setAttribute(k,a[k]);if(p)p.appendChild(e);return e;}\n"
	"function fmt(ns){return ns>=1e9?(ns/1e9).toFixed(2)+' s':ns>=1e6?(ns/1e6).toFixed(1)+' ms':(ns/1e3).toFixed(0)+' us';}\n"
	"function colour(r){if(r<0)return 'rgb(190,190,190)';var h=(r*137+20)%360;return 'hsl('+h+',65%,62%)';}\n"
	"function flat(d,depth,x0,parent){var n={name:d[0],v:d[1],open:d[2],r:d[3],depth:depth,x0:x0,parent:parent};all.push(n);"
	"var x=x0;for(var i=0;i<d[4].length;i++){flat(d[4][i],depth+1,x,n);x+=d[4][i][1];}return n;}\n"
	"function inside(n,z){for(var p=n;p;p=p.parent)if(p===z)return true;return false;}\n"
	"function tip(n){var s=n.name+': '+fmt(n.v)+' ('+(100*n.v/DATA[1]).toFixed(2)+'% of all)';"
	"if(n.r>=0)s+=', '+REASONS[n.r];else if(n.r==-1)s+=', several reasons';"
	"if(n.open)s+=', '+fmt(n.open)+' still blocked';return s;}\n"
	"function draw(){if(fg)fg.remove();fg=el('g',{id:'frames'},svg);var z=zoomed||all[0];var k=W/z.v;\n"
	"for(var i=0;i<all.length;i++){var n=all[i],x,w;if(inside(z,n)&&n!==z){x=0;w=W;}else if(inside(n,z)){x=(n.x0-z.x0)*k;w=n.v*k;}else continue;\n"
	"if(w<0.5)continue;var y=TOP+(MAXD-n.depth)*FH;var g=el('g',{'class':'f'+(n.match?' match':''),'data-name':n.name},fg);\n"
	"el('title',{},g).textContent=tip(n);\n"
	"var r=el('rect',{x:x.toFixed(1),y:y,width:Math.max(w-0.5,0.5).toFixed(1),height:FH-1,rx:2,fill:n.match?'rgb(230,0,230)':colour(n.r)},g);\n"
	"if(n.open){r.setAttribute('stroke','#d00000');r.setAttribute('stroke-width','1.5');}\n"
	"if(w>28){var c=Math.floor((w-6)/7);el('text',{x:(x+3).toFixed(1),y:y+FH-4},g).textContent=n.name.length<=c?n.name:n.name.slice(0,Math.max(c-2,0))+'..';}\n"
	"(function(n){g.onclick=function(){zoom(n);};g.onmouseover=function(){details.textContent=tip(n);};g.onmouseout=function(){details.textContent=' ';};})(n);}}\n"
	"function zoom(n){zoomed=(n===all[0])?null:n;draw();return zoomed?zoomed.name:null;}\n"
	"function zoomTo(name){for(var i=0;i<all.length;i++)if(all[i].name===name)return zoom(all[i]);return null;}\n"
	"function search(re){var rx=new RegExp(re),names=[],m=0;for(var i=0;i<all.length;i++){var n=all[i];n.match=rx.test(n.name);"
	"if(n.match){names.push(n.name);var p=n.parent;while(p&&!p.match)p=p.parent;if(!p)m+=n.v;}}\n"
	"matchedT.textContent=names.length?'Matched: '+(100*m/DATA[1]).toFixed(1)+'%':'No match';draw();return names;}\n"
	"function clearSearch(){for(var i=0;i<all.length;i++)all[i].match=false;matchedT.textContent=' ';draw();}\n"
	"function init(){svg=document.documentElement;details=document.getElementById('details');matchedT=document.getElementById('matched');\n"
	"flat(DATA,0,0,null);\n"
	"document.getElementById('reset').onclick=function(){zoom(all[0]);};\n"
	"document.getElementById('search').onclick=function(){var re=prompt('Search frames (regular expression):');if(re)search(re);else clearSearch();};\n"
	"var lg=document.getElementById('legend'),x=0;for(var i=0;i<REASONS.length&&x<W-150;i++){el('rect',{x:x,y:0,width:10,height:10,fill:colour(i)},lg);"
	"var t=el('text',{x:x+13,y:9},lg);t.textContent=REASONS[i];x+=24+7*REASONS[i].length;}\n"
	"var t=el('text',{x:x+4,y:9,fill:'#d00000'},lg);t.textContent='red outline: still blocked at the end';\n"
	"draw();var h=decodeURIComponent(location.hash.slice(1)).split('&');for(var i=0;i<h.length;i++){var kv=h[i].split('=');"
	"if(kv[0]==='zoom')zoomTo(kv.slice(1).join('='));if(kv[0]==='search')search(kv.slice(1).join('='));}}\n"
	"window.addEventListener('load',init);\n";

static void write_svg(FILE *out, struct tree *t, const struct bw_profile *p)
{
	uint32_t height = 52 + (t->depth + 1) * FRAME_H + 24;
	char total[16], when[40];
	int i;

	bw_fmt_duration(t->root.ns, total, sizeof(total));
	bw_fmt_time(p->end_ns, when, sizeof(when));
	fprintf(out,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%u\" viewBox=\"0 0 %d %u\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<style>text{font:12px Verdana,DejaVu Sans,sans-serif;fill:#000}"
		".f{cursor:pointer}.f:hover rect{stroke:#000;stroke-width:1}"
		"#title{font-size:16px}.button{fill:#3060c0;cursor:pointer}</style>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#f8f8f4\"/>\n"
		"<text id=\"title\" x=\"%d\" y=\"20\" text-anchor=\"middle\">Off-CPU time "
		"(blockwatch): %s blocked past the threshold, to %s</text>\n"
		"<text id=\"reset\" class=\"button\" x=\"10\" y=\"20\">Reset zoom</text>\n"
		"<text id=\"search\" class=\"button\" x=\"%d\" y=\"20\" text-anchor=\"end\">Search</text>\n"
		"<text id=\"matched\" x=\"%d\" y=\"%u\" text-anchor=\"end\"> </text>\n"
		"<text id=\"details\" x=\"10\" y=\"%u\"> </text>\n"
		"<g id=\"legend\" transform=\"translate(10,30)\"></g>\n",
		WIDTH, height, WIDTH, height, WIDTH / 2, total, when, WIDTH - 10, WIDTH - 10,
		height - 8, height - 8);
	fputs("<script type=\"text/ecmascript\"><![CDATA[\nvar DATA=", out);
	node_json(out, &t->root);
	fputs(";\nvar REASONS=[", out);
	for (i = 0; i < t->nreasons; i++) {
		if (i)
			fputc(',', out);
		json_str(out, t->reasons[i]);
	}
	fprintf(out, "];\nvar MAXD=%u;\n%s]]></script>\n</svg>\n", t->depth, script);
}

static int svg_write(struct bw_sink *s, const struct bw_profile *p)
{
	struct tree t = { .root = { .name = "all", .reason = REASON_NONE } };
	int err;

	err = profile__each(p, add_sample, &t);
	if (!err)
		write_svg(s->out, &t, p);
	node_free(&t.root);
	return err;
}

const struct bw_sink_ops bw_sink_svg = {
	.name = "svg",
	.write = svg_write,
};

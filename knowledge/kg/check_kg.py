#!/usr/bin/python3
"""Referential-integrity check and counts for Fenzhen's default knowledge graph.

Usage: /usr/bin/python3 knowledge/kg/check_kg.py   (needs python3-yaml)
Exit status 1 when an error is found.
"""
import glob, os, sys, collections
import yaml

D = os.path.dirname(os.path.abspath(__file__))
errors, warns = [], []

def load(name):
    p = os.path.join(D, name)
    if not os.path.exists(p):
        warns.append('missing ' + name)
        return []
    return yaml.safe_load(open(p, encoding='utf-8')) or []

def uniq(items, key, kind):
    seen = set()
    for it in items:
        k = it.get(key)
        if not k:
            errors.append('%s without %s: %r' % (kind, key, it))
        elif k in seen:
            errors.append('duplicate %s %s' % (kind, k))
        seen.add(k)
    return seen

deps = load('departments.yaml')
dep_codes = uniq(deps, 'code', 'department')
alias_owner = {}
for d in deps:
    if d.get('parent_code') and d['parent_code'] not in dep_codes:
        errors.append('department %s: unknown parent %s' % (d['code'], d['parent_code']))
    for a in d.get('aliases') or []:
        if a in alias_owner:
            errors.append('department alias %s under %s and %s' % (a, alias_owner[a], d['code']))
        alias_owner[a] = d['code']

body = load('body_parts.yaml')
body_ids = uniq(body, 'id', 'body part')

syms = load('symptoms.yaml')
sym_ids = uniq(syms, 'id', 'symptom')
owner = {}
nsyn = 0
for s in syms:
    names = [s['name']] + list(s.get('synonyms') or [])
    nsyn += len(s.get('synonyms') or [])
    for n in names:
        n = str(n)
        if n in owner and owner[n] != s['id']:
            errors.append('symptom term %s under %s and %s' % (n, owner[n], s['id']))
        owner[n] = s['id']
        if len(n) == 1:
            warns.append('single-character term %s (%s)' % (n, s['id']))
    if s.get('body_part') and s['body_part'] not in body_ids:
        errors.append('symptom %s: unknown body_part %s' % (s['id'], s['body_part']))
    if not s.get('question'):
        errors.append('symptom %s: no question' % s['id'])

rfs = load('red_flags.yaml')
rf_ids = uniq(rfs, 'id', 'red flag')
for r in rfs:
    if r.get('urgency') not in ('emergency', 'urgent'):
        errors.append('red flag %s: urgency %r' % (r['id'], r.get('urgency')))
    if not (r.get('all') or r.get('any')):
        errors.append('red flag %s: no symptoms' % r['id'])
    for x in (r.get('all') or []) + (r.get('any') or []):
        if x not in sym_ids:
            errors.append('red flag %s: unknown symptom %s' % (r['id'], x))

checks = load('checks.yaml')
check_ids = uniq(checks, 'id', 'check')

dis = []
for f in sorted(glob.glob(os.path.join(D, 'diseases', '*.yaml'))):
    part = yaml.safe_load(open(f, encoding='utf-8')) or []
    for x in part:
        x['_file'] = os.path.basename(f)
    dis += part
dis_ids = uniq(dis, 'id', 'disease')

drugs = load('drugs.yaml')
drug_ids = uniq(drugs, 'id', 'drug')
for dr in drugs:
    for c in dr.get('contraindications') or []:
        cond = c.get('condition')
        if cond not in ('pregnancy', 'child') and cond not in dis_ids:
            errors.append('drug %s: unknown condition %s' % (dr['id'], cond))
        if cond == 'child' and not c.get('age_max'):
            errors.append('drug %s: child contraindication without age_max' % dr['id'])
        if c.get('severity') not in ('contraindicated', 'caution', 'interaction'):
            errors.append('drug %s: severity %r' % (dr['id'], c.get('severity')))
    for i in dr.get('interactions') or []:
        if i.get('drug') not in drug_ids:
            errors.append('drug %s: unknown interacting drug %s' % (dr['id'], i.get('drug')))
        if i.get('severity') not in ('contraindicated', 'caution', 'interaction'):
            errors.append('drug %s: interaction severity %r' % (dr['id'], i.get('severity')))

dep_count = collections.Counter()
dis_names = {}
used_syms = collections.Counter()
for d in dis:
    i = d['id']
    for n in [d['name']] + list(d.get('aliases') or []):
        if n in dis_names and dis_names[n] != i:
            warns.append('disease name %s under %s and %s' % (n, dis_names[n], i))
        dis_names[n] = i
    for c in [d.get('department')] + list(d.get('departments') or []):
        if c not in dep_codes:
            errors.append('disease %s: unknown department %s' % (i, c))
    dep_count[d.get('department')] += 1
    sy = d.get('symptoms') or {}
    if not 3 <= len(sy) <= 14:
        warns.append('disease %s has %d symptoms' % (i, len(sy)))
    for k, v in sy.items():
        used_syms[k] += 1
        if k not in sym_ids:
            errors.append('disease %s: unknown symptom %s' % (i, k))
        if not (isinstance(v, (int, float)) and 0 < v <= 1):
            errors.append('disease %s: bad frequency %s=%r' % (i, k, v))
    for k in d.get('checks') or []:
        if k not in check_ids:
            errors.append('disease %s: unknown check %s' % (i, k))
    for k in d.get('drugs') or []:
        if k not in drug_ids:
            errors.append('disease %s: unknown drug %s' % (i, k))
    for k in d.get('complications') or []:
        if k not in dis_ids:
            errors.append('disease %s: unknown complication %s' % (i, k))
    for k in d.get('red_flags') or []:
        if k not in rf_ids:
            errors.append('disease %s: unknown red flag %s' % (i, k))
    a = d.get('age') or [0, 120]
    if len(a) != 2 or a[0] > a[1]:
        errors.append('disease %s: bad age %r' % (i, a))
    if d.get('sex', '') not in ('', 'male', 'female'):
        errors.append('disease %s: bad sex %r' % (i, d.get('sex')))
    p = d.get('prevalence')
    if not (isinstance(p, (int, float)) and 0 < p <= 1):
        errors.append('disease %s: bad prevalence %r' % (i, p))

print('departments %d (aliases %d)' % (len(deps), len(alias_owner)))
print('body parts %d' % len(body))
print('symptoms %d, synonyms %d' % (len(syms), nsyn))
print('red flags %d' % len(rfs))
print('checks %d' % len(checks))
print('drugs %d' % len(drugs))
print('diseases %d' % len(dis))
if dis:
    print('  by department: ' + ', '.join('%s:%d' % kv for kv in sorted(dep_count.items())))
    print('  symptoms used by diseases: %d of %d' % (len(used_syms), len(syms)))
if '-v' in sys.argv:
    for w in warns: print('WARN', w)
elif warns:
    print('%d warnings (-v to list)' % len(warns))
for e in errors: print('ERROR', e)
sys.exit(1 if errors else 0)

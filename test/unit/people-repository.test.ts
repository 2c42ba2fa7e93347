/** The office's staff in the register, on each engine it runs on: the same tests, the same answers. */
import { describe, expect, it } from 'vitest';
import { identityOf } from '../../src/people/people.input.js';
import { addPerson, askerOf, grantRole, listPeople, personByHandle, personByIdentity, removePerson } from '../../src/people/people.repository.js';
import { registerEngines } from '../helpers/register-engines.js';

const { engines } = registerEngines();

const AT = new Date('2026-03-02T09:00:00Z');
const LATER = new Date('2026-06-30T17:00:00Z');

const nadia = {
  handle: 'nadia',
  name: 'Nadia Benali',
  identities: [identityOf('email', 'Nadia.Benali@Example.gov'), identityOf('slack', 'U0NADIA'), identityOf('matrix', '@nadia:example.gov')],
  grants: [{ role: 'member' as const, department: 'RH' }],
  at: AT,
};
const karim = { handle: 'karim', name: 'Karim Alaoui', identities: [identityOf('slack', 'U0KARIM')], grants: [{ role: 'clerk' as const, department: null }], at: AT };

describe.each(engines)('the staff on $name', ({ open }) => {
  it('adds a person, found by each of their identities (an email address in any case) and by their handle', async () => {
    const database = await open();
    const added = await database.write((tx) => addPerson(tx, nadia));
    expect(added).toEqual({
      id: expect.any(Number),
      handle: 'nadia',
      name: 'Nadia Benali',
      addedAt: AT,
      removedAt: null,
      identities: [
        { channel: 'email', address: 'nadia.benali@example.gov' },
        { channel: 'matrix', address: '@nadia:example.gov' },
        { channel: 'slack', address: 'U0NADIA' },
      ],
      grants: [{ role: 'member', department: 'RH' }],
    });
    const found = await database.read(async (tx) => [
      await personByIdentity(tx, { channel: 'email', address: 'NADIA.benali@example.GOV' }),
      await personByIdentity(tx, { channel: 'slack', address: 'U0NADIA' }),
      await personByIdentity(tx, { channel: 'matrix', address: '@nadia:example.gov' }),
      await personByHandle(tx, 'nadia'),
    ]);
    expect(found).toEqual([added, added, added, added]);
    // What a channel reports of who acted: the person behind it, or no one (an unknown address, a channel no person is known on).
    const askers = await database.read(async (tx) => [await askerOf(tx, { channel: 'matrix', id: '@nadia:example.gov' }), await askerOf(tx, { channel: 'email', id: 'x@example.gov' }), await askerOf(tx, { channel: 'fax', id: '0522' })]);
    expect(askers).toEqual([
      { identity: { channel: 'matrix', address: '@nadia:example.gov' }, person: added },
      { identity: { channel: 'email', address: 'x@example.gov' }, person: undefined },
      { identity: { channel: 'fax', address: '0522' }, person: undefined },
    ]);
    // Slack and Matrix ids are compared exactly, as their platforms compare them.
    expect(await database.read((tx) => personByIdentity(tx, { channel: 'slack', address: 'u0nadia' }))).toBeUndefined();
  });

  it('refuses an identity that is already someone else\'s, naming them, and keeps nothing of the refused person', async () => {
    const database = await open();
    await database.write((tx) => addPerson(tx, karim));
    await expect(database.write((tx) => addPerson(tx, { ...nadia, identities: [...nadia.identities, identityOf('slack', 'U0KARIM')] }))).rejects.toMatchObject({
      code: 'person.identity_taken',
      message: "the slack identity U0KARIM is already Karim Alaoui's (karim): one identity names one person; nothing was added",
    });
    expect(await database.read((tx) => personByIdentity(tx, { channel: 'email', address: 'nadia.benali@example.gov' }))).toBeUndefined();
    expect((await database.read((tx) => listPeople(tx))).map((person) => person.handle)).toEqual(['karim']);
  });

  it('refuses a handle a present person holds', async () => {
    const database = await open();
    await database.write((tx) => addPerson(tx, nadia));
    await expect(database.write((tx) => addPerson(tx, { ...karim, handle: 'nadia' }))).rejects.toMatchObject({ code: 'person.handle_taken', message: 'the handle nadia is taken by Nadia Benali: choose another' });
  });

  it('keeps one identity given twice once', async () => {
    const database = await open();
    const added = await database.write((tx) => addPerson(tx, { ...karim, identities: [identityOf('email', 'k@example.gov'), identityOf('email', 'K@Example.gov')] }));
    expect(added.identities).toEqual([{ channel: 'email', address: 'k@example.gov' }]);
  });

  it('grants roles once each: an office-wide role and one per department', async () => {
    const database = await open();
    const { id } = await database.write((tx) => addPerson(tx, nadia));
    const grants = [
      { role: 'head' as const, department: 'URB' },
      { role: 'member' as const, department: 'RH' },
      { role: 'admin' as const, department: null },
      { role: 'admin' as const, department: null },
      { role: 'member' as const, department: 'URB' },
    ];
    const changed = await database.write(async (tx) => {
      const results = [];
      for (const grant of grants) results.push(await grantRole(tx, { personId: id, grant }));
      return results;
    });
    expect(changed).toEqual([true, false, true, false, true]);
    expect((await database.read((tx) => personByHandle(tx, 'nadia')))!.grants).toEqual([
      { role: 'member', department: 'RH' },
      { role: 'head', department: 'URB' },
      { role: 'admin', department: null },
      { role: 'member', department: 'URB' },
    ]);
  });

  it('removes a person: no identity or handle names them any more, the list keeps them apart, and their identities and handle may be given anew', async () => {
    const database = await open();
    const { id } = await database.write((tx) => addPerson(tx, nadia));
    await database.write((tx) => addPerson(tx, karim));
    expect(await database.write((tx) => removePerson(tx, { personId: id, at: LATER }))).toBe(true);
    expect(await database.write((tx) => removePerson(tx, { personId: id, at: LATER }))).toBe(false);

    const lookups = await database.read(async (tx) => [await personByIdentity(tx, { channel: 'slack', address: 'U0NADIA' }), await personByHandle(tx, 'nadia')]);
    expect(lookups).toEqual([undefined, undefined]);
    expect((await database.read((tx) => listPeople(tx))).map((person) => person.handle)).toEqual(['karim']);
    const everyone = await database.read((tx) => listPeople(tx, { removed: true }));
    expect(everyone.map((person) => [person.handle, person.removedAt])).toEqual([
      ['karim', null],
      ['nadia', LATER],
    ]);
    // The removed person is still whole: the history that names them reads their name and roles.
    expect(everyone[1]).toMatchObject({ name: 'Nadia Benali', grants: [{ role: 'member', department: 'RH' }], identities: expect.arrayContaining([{ channel: 'slack', address: 'U0NADIA' }]) });

    const successor = await database.write((tx) => addPerson(tx, { ...nadia, name: 'Nadia Tazi', identities: [identityOf('slack', 'U0NADIA')] }));
    expect(successor.id).not.toBe(id);
    expect((await database.read((tx) => personByIdentity(tx, { channel: 'slack', address: 'U0NADIA' })))?.name).toBe('Nadia Tazi');
  });
});
